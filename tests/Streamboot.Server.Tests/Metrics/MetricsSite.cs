using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Metrics;

/// <summary>
/// One <c>./streamboot serve</c> on 127.0.0.1 for the metrics tests, with
/// every protocol on (HTTP, NBD, iSCSI, TFTP on free ports), vDisk gold (16
/// MiB of 0x11: nbdcopy skips holes, and there are none), device pc1 assigned it, a boot file in TFTP,
/// and <c>--metrics-allow 127.0.0.1/32</c>, so a client on 127.0.0.2 (loopback
/// holds all of 127.0.0.0/8) is outside. <see cref="TrafficAsync"/> drives
/// each protocol with a real client once.
/// </summary>
public sealed partial class MetricsSite : IAsyncLifetime
{
    public const long DiskBytes = 16 << 20;
    public const long RangeBytes = 1 << 20;
    public const string IscsiBase = "iqn.2026-01.org.streamboot";
    public static readonly IPAddress Outsider = IPAddress.Parse("127.0.0.2");

    private readonly StreambootCli _cli = new();

    public ServerProcess Server { get; private set; } = null!;

    public StreambootCli Cli => _cli;

    public string Base { get; private set; } = "";

    public int NbdPort { get; private set; }

    public int IscsiPort { get; private set; }

    public int TftpPort { get; private set; }

    public byte[] BootFile { get; } = Random(300_000);

    public string Folder => _cli.DataFolder;

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "16M", "--format", "qcow2");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "write -P 0x11 0 16M");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:11", "--name", "pc1");
        await _cli.OkAsync("assign", "pc1", "gold");
        var tftp = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "tftp"));
        await File.WriteAllBytesAsync(Path.Combine(tftp.FullName, "boot.bin"), BootFile);
        var http = Ports.Free();
        NbdPort = Ports.Free();
        IscsiPort = Ports.Free();
        TftpPort = Ports.FreeUdp();
        Base = $"http://127.0.0.1:{http}";
        Server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", Text(http), "--nbd-port", Text(NbdPort), "--iscsi-port", Text(IscsiPort),
             "--metrics-allow", "127.0.0.1/32"],
            new Dictionary<string, string?> { ["STREAMBOOT_TFTP_PORT"] = Text(TftpPort) });
        using var health = await Server.WaitForHttpAsync($"{Base}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await Server.TerminateAsync(TimeSpan.FromSeconds(30));
        await Server.DisposeAsync();
        _cli.Dispose();
    }

    /// <summary>curl fetches /metrics from 127.0.0.1; promtool checks it; the samples are returned.</summary>
    public async Task<Scrape> ScrapeAsync()
    {
        var curl = await ProcessRunner.RunAsync("curl", ["-sS", "--fail", $"{Base}/metrics"]);
        Assert.True(curl.ExitCode == 0, curl.ToString());
        await Promtool.CheckAsync(curl.Stdout);
        return Scrape.Parse(curl.Stdout);
    }

    /// <summary>A boot script for pc1, from 127.0.0.1: the new boot's key.</summary>
    public async Task<string> BootAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var script = await http.GetStringAsync($"{Base}/boot.ipxe?mac=52:54:00:00:00:11");
        var key = Key().Match(script);
        Assert.True(key.Success, "no key in the script:\n" + script);
        return key.Groups[1].Value;
    }

    public string NbdUri(string view) => $"nbd://127.0.0.1:{NbdPort}/{view.Replace("/", "%2F", StringComparison.Ordinal)}";

    public string IscsiUri(string target) => $"iscsi://127.0.0.1:{IscsiPort}/{IscsiBase}:{target}/0";

    /// <summary>
    /// Each protocol once, by a client nobody here wrote: a boot script, then
    /// nbdcopy reads pc1's whole disk with its key (the boot starts); curl
    /// reads a 1 MiB range of gold over HTTP and the boot file over TFTP;
    /// qemu-io reads 1 MiB over iSCSI, and iscsi-inq asks a VPD page the
    /// target does not have (an ILLEGAL REQUEST: a request answered with an
    /// error); TFTP is asked for a file it does not have (a refusal).
    /// </summary>
    public async Task TrafficAsync()
    {
        var key = await BootAsync();
        await RunOkAsync("nbdcopy", NbdUri($"gold/pc1/{key}"), "null:");

        using var folder = new TempFolder("metrics-traffic");
        await RunOkAsync("curl", "-sS", "--fail", "-r", $"0-{RangeBytes - 1}", "-o", folder.Combine("range"), $"{Base}/vdisk/gold");
        Assert.Equal(RangeBytes, new FileInfo(folder.Combine("range")).Length);
        await RunOkAsync("curl", "-sS", "--fail", "-o", folder.Combine("boot.bin"), $"tftp://127.0.0.1:{TftpPort}/boot.bin");
        Assert.Equal(BootFile, await File.ReadAllBytesAsync(folder.Combine("boot.bin")));

        var read = await ProcessRunner.RunAsync("qemu-io", ["-r", "-f", "raw", "-c", $"read -P 0x11 0 {RangeBytes}", IscsiUri("gold")]);
        Assert.True(read.ExitCode == 0 && !read.Stdout.Contains("failed", StringComparison.Ordinal), read.ToString());
        var unknownPage = await ProcessRunner.RunAsync("iscsi-inq", ["-e", "1", "-c", "66", IscsiUri("gold")]);
        Assert.True(unknownPage.ExitCode != 0, $"VPD page 66 (42h) should be refused: {unknownPage}");

        // And one request refused: a file TFTP does not have.
        var missing = await ProcessRunner.RunAsync("curl", ["-sS", "-o", folder.Combine("missing"), $"tftp://127.0.0.1:{TftpPort}/missing.bin"]);
        Assert.NotEqual(0, missing.ExitCode);
    }

    public static async Task RunOkAsync(string program, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(program, arguments);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', arguments)}: {result}");
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static byte[] Random(int length)
    {
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        return bytes;
    }

    [GeneratedRegex(@"/vdisk/[^/\s]+/[^/\s]+/([0-9a-f]{32})\b")]
    private static partial Regex Key();
}
