using System.Globalization;
using System.Net;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>Tables in an 80-column terminal: MACs and names stay whole, other columns wrap or are left out, no line is wider.</summary>
public sealed class TableWidthTests : IDisposable
{
    private readonly StreambootCli _cli = new();

    public TableWidthTests() => _cli.Environment["COLUMNS"] = "80";

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Device_list_keeps_macs_and_names_whole_in_80_columns()
    {
        await _cli.OkAsync("vdisk", "create", "debian12-workstation", "--size", "1M");
        await _cli.OkAsync("vdisk", "create", "tools-and-utilities", "--size", "1M");
        await _cli.OkAsync("collection", "add", "engineering-lab", "--pattern", "ENGINEERING-###");
        var macs = new[] { "52:54:00:12:34:56", "52:54:00:ab:cd:ef", "52:54:00:00:00:01" };
        foreach (var mac in macs)
        {
            var name = (await _cli.JsonAsync("device", "add", mac, "--collection", "engineering-lab")).GetProperty("name").GetString()!;
            await _cli.OkAsync("assign", name, "debian12-workstation");
            await _cli.OkAsync("assign", name, "tools-and-utilities", "--default");
        }

        var table = (await _cli.OkAsync("device", "list")).Stdout;
        AssertFits(table, [.. macs, "ENGINEERING-001", "ENGINEERING-003"]);
    }

    [Fact]
    public async Task Session_list_all_leaves_columns_out_instead_of_one_character_columns()
    {
        await _cli.OkAsync("vdisk", "create", "golden-image", "--size", "1M");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "workstation-01");
        await _cli.OkAsync("assign", "workstation-01", "golden-image");
        var http = Ports.Free();
        var nbd = Ports.Free();
        await using (var server = ServerProcess.Start(["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", nbd.ToString(CultureInfo.InvariantCulture)]))
        {
            using (var health = await server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(2)))
            {
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            }

            for (var i = 0; i < 2; i++)
            {
                var view = (await _cli.OkAsync("session", "key", "workstation-01")).Stdout.Trim();
                var read = await ProcessRunner.RunAsync(QemuImg.Path("qemu-io"), ["-r", "-f", "raw", "-c", "read 0 4k", $"nbd://127.0.0.1:{nbd}/{view.Replace("/", "%2F", StringComparison.Ordinal)}"]);
                Assert.True(read.ExitCode == 0, read.ToString());
            }

            Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
        }

        var table = (await _cli.OkAsync("session", "list", "--all")).Stdout;
        AssertFits(table, ["workstation-01", "golden-image"]);
        Assert.Contains("left out to fit 80 columns; --json has everything", System.Text.RegularExpressions.Regex.Replace(table, @"\s+", " "), StringComparison.Ordinal);
        Assert.Equal(2, (await _cli.JsonAsync("session", "list", "--all")).GetArrayLength());
    }

    private static void AssertFits(string table, string[] whole)
    {
        var lines = table.Split('\n');
        Assert.All(lines, line => Assert.True(line.Length <= 80, $"wider than 80 columns:\n{table}"));
        foreach (var text in whole)
        {
            Assert.True(lines.Any(l => l.Contains(text, StringComparison.Ordinal)), $"'{text}' is split:\n{table}");
        }
    }
}
