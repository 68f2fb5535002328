using System.Globalization;
using System.Net;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// <c>streamboot serve</c> streaming over NBD to real clients (libnbd's
/// nbdinfo, nbdcopy and nbdsh; qemu-io): sessions, isolation between devices,
/// the read-only view, and what is refused. A device's own view needs its
/// boot's key: these clients get one from <c>streamboot session key</c>, as a
/// PXE client gets it from its boot script.
/// </summary>
public sealed class NbdServeTests : IAsyncLifetime
{
    private readonly StreambootCli _cli = new();
    private ServerProcess? _server;
    private int _nbdPort;

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "64M", "--format", "qcow2", "--description", "golden image");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "write -P 0x11 0 2M");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:02", "--name", "pc2");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:03", "--name", "stranger");
        await _cli.OkAsync("assign", "pc1", "gold");
        await _cli.OkAsync("assign", "pc2", "gold");
        var http = Ports.Free();
        _nbdPort = Ports.Free();
        _server = ServerProcess.Start(["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", _nbdPort.ToString(CultureInfo.InvariantCulture)]);
        using var health = await _server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            Assert.Equal(0, await _server.TerminateAsync(TimeSpan.FromSeconds(30)));
            await _server.DisposeAsync();
        }

        _cli.Dispose();
    }

    [Fact]
    public async Task Nbdinfo_lists_the_vdisks_and_describes_the_exports()
    {
        var list = await RunAsync("nbdinfo", "--list", "--json", Uri(""));
        var exports = JsonDocument.Parse(list).RootElement.GetProperty("exports");
        var gold = Assert.Single(exports.EnumerateArray());
        Assert.Equal("gold", gold.GetProperty("export-name").GetString());
        Assert.Equal("golden image", gold.GetProperty("description").GetString());

        var view = JsonDocument.Parse(await RunAsync("nbdinfo", "--json", Uri("gold"))).RootElement.GetProperty("exports")[0];
        Assert.True(view.GetProperty("is_read_only").GetBoolean());
        Assert.Equal(64L << 20, view.GetProperty("export-size").GetInt64());
        var own = JsonDocument.Parse(await RunAsync("nbdinfo", "--json", Uri(await ViewAsync("pc1")))).RootElement.GetProperty("exports")[0];
        Assert.False(own.GetProperty("is_read_only").GetBoolean());

        var map = await RunAsync("nbdinfo", "--map", Uri("gold"));
        Assert.Contains("data", map, StringComparison.Ordinal);

        // A vDisk that lends its read-only view to nobody: not listed, not served, its devices unaffected.
        await _cli.OkAsync("vdisk", "set", "gold", "--anonymous-reads", "false");
        Assert.Empty(JsonDocument.Parse(await RunAsync("nbdinfo", "--list", "--json", Uri(""))).RootElement.GetProperty("exports").EnumerateArray());
        Assert.NotEqual(0, (await ProcessRunner.RunAsync("nbdinfo", [Uri("gold")])).ExitCode);
        await QemuImg.IoAsync("raw", Uri(await ViewAsync("pc2")), "read -P 0x11 0 4k");
        Assert.False((await _cli.JsonAsync("vdisk", "show", "gold")).GetProperty("anonymousReads").GetBoolean());
        await _cli.OkAsync("vdisk", "set", "gold", "--anonymous-reads", "true");
    }

    [Fact]
    public async Task Two_devices_write_only_their_own_view_and_the_shared_view_sees_neither()
    {
        var pc1 = await ViewAsync("pc1");
        var pc2 = await ViewAsync("52-54-00-00-00-02");
        await QemuImg.IoAsync("raw", Uri(pc1), "write -P 0xa1 1M 64k");
        await QemuImg.IoAsync("raw", Uri(pc2), "write -P 0xb2 1M 64k");
        await QemuImg.IoAsync("raw", Uri(pc1), "read -P 0xa1 1M 64k", "read -P 0x11 0 1M");
        Assert.StartsWith("gold/pc2/", pc2, StringComparison.Ordinal);
        await QemuImg.IoAsync("raw", Uri(pc2), "read -P 0xb2 1M 64k");
        var copy = Path.Combine(_cli.DataFolder, "view.raw");
        await RunAsync("nbdcopy", Uri("gold"), copy);
        var bytes = await File.ReadAllBytesAsync(copy);
        Assert.Equal(64L << 20, bytes.Length);
        Assert.All(bytes.AsSpan(1 << 20, 65536).ToArray(), b => Assert.Equal(0x11, b));

        // The golden image itself is untouched.
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "read -P 0x11 1M 64k");
        var ended = await _cli.JsonAsync("session", "list", "--all");
        Assert.Contains(ended.EnumerateArray(), s => s.GetProperty("device").GetString() == "pc1" && s.GetProperty("bytesWritten").GetInt64() >= 65536);
    }

    [Fact]
    public async Task A_connected_client_is_a_live_session_and_a_second_identity_is_refused()
    {
        var pc1 = await ViewAsync("pc1");
        var script = $$"""
            import time, sys
            h = nbd.NBD()
            h.connect_uri("{{Uri(pc1)}}")
            h.pwrite(b"\x42" * 4096, 0, nbd.CMD_FLAG_FUA)
            print("connected", flush=True)
            time.sleep(8)
            h.shutdown()
            """;
        var holder = Nbdsh.RunAsync(script);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement live;
        do
        {
            await Task.Delay(300);
            live = await _cli.JsonAsync("session", "list");
        }
        while (live.GetArrayLength() == 0 && DateTime.UtcNow < deadline);

        var session = Assert.Single(live.EnumerateArray());
        Assert.Equal(("pc1", "gold", "nbd"), (session.GetProperty("device").GetString(), session.GetProperty("vDisk").GetString(), session.GetProperty("protocol").GetString()));

        // The same device may open more connections (multi-conn) ...
        await QemuImg.IoAsync("raw", Uri(pc1), "read -P 0x42 0 4k");
        // ... an unassigned device, a view without its key and an unknown export may not.
        var refused = await ProcessRunner.RunAsync("nbdinfo", [Uri("gold/stranger/" + pc1.Split('/')[2])]);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("server replied with", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("Refused gold/stranger over nbd", _server!.Output, StringComparison.Ordinal);
        foreach (var keyless in new[] { "gold/pc1", "gold/52:54:00:00:00:01" })
        {
            var noKey = await ProcessRunner.RunAsync("nbdinfo", [Uri(keyless)]);
            Assert.NotEqual(0, noKey.ExitCode);
        }

        Assert.DoesNotContain(pc1.Split('/')[2], _server.Output, StringComparison.Ordinal);
        var unknown = await ProcessRunner.RunAsync("nbdinfo", [Uri("nope")]);
        Assert.NotEqual(0, unknown.ExitCode);

        var result = await holder;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty((await _cli.JsonAsync("session", "list")).EnumerateArray());
    }

    [Fact]
    public async Task The_read_only_view_refuses_writes()
    {
        var script = $$"""
            import errno
            h = nbd.NBD()
            h.connect_uri("{{Uri("gold")}}")
            assert h.is_read_only()
            # Let the write reach the server instead of libnbd refusing it first.
            h.set_strict_mode(0)
            try:
                h.pwrite(b"x" * 512, 0)
                raise SystemExit("write accepted")
            except nbd.Error as e:
                assert e.errno == errno.EPERM or "EPERM" in str(e), (e.errno, str(e))
            print("refused")
            """;
        var result = await Nbdsh.RunAsync(script);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("refused", result.Stdout, StringComparison.Ordinal);
    }

    /// <summary>A new boot of the device, as its boot script would issue it: VDISK/DEVICE/KEY.</summary>
    private async Task<string> ViewAsync(string device) =>
        (await _cli.OkAsync("session", "key", device)).Stdout.Trim();

    private string Uri(string export) => $"nbd://127.0.0.1:{_nbdPort}/{export.Replace("/", "%2F", StringComparison.Ordinal)}";

    private static async Task<string> RunAsync(string tool, params string[] arguments)
    {
        var path = ProcessRunner.Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's 'libnbd-bin' package (./test.sh installs it)");
        var result = await ProcessRunner.RunAsync(path, arguments);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }

}
