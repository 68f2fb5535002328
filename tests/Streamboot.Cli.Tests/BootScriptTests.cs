using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// <c>streamboot serve</c> answering booting clients over HTTP: the iPXE
/// script for each case, the identity endpoint, boot files with ranges, and
/// a new boot throwing away the last boot's writes. (The same scripts run
/// in real iPXE in the VM boot tests.)
/// </summary>
public sealed class BootScriptTests : IAsyncLifetime
{
    private readonly StreambootCli _cli = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ServerProcess? _server;
    private string _base = "";
    private int _nbdPort;

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "64M", "--format", "qcow2", "--description", "Golden image");
        await _cli.OkAsync("vdisk", "create", "other", "--size", "64M");
        await _cli.OkAsync("collection", "add", "lab", "--pattern", "LAB-##", "--policy", "refuse");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1");
        await _cli.OkAsync("assign", "pc1", "gold");
        var port = Ports.Free();
        _nbdPort = Ports.Free();
        _base = $"http://127.0.0.1:{port}";
        _server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", port.ToString(CultureInfo.InvariantCulture), "--nbd-port", _nbdPort.ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { ["STREAMBOOT_BOOT_MENU_SECONDS"] = "3", ["STREAMBOOT_BOOT_RETRY_SECONDS"] = "7" });
        using var health = await _server.WaitForHttpAsync($"{_base}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            Assert.Equal(0, await _server.TerminateAsync(TimeSpan.FromSeconds(30)));
            await _server.DisposeAsync();
        }

        _http.Dispose();
        _cli.Dispose();
    }

    [Fact]
    public async Task A_device_with_one_vdisk_gets_a_script_that_sanboots_its_own_view()
    {
        var script = await ScriptAsync("mac=52-54-00-00-00-01&platform=pcbios&buildarch=i386");
        Assert.StartsWith("#!ipxe\n", script, StringComparison.Ordinal);
        var machineId = (await _cli.JsonAsync("device", "show", "pc1")).GetProperty("machineId").GetGuid().ToString("N");
        Assert.Contains($"echo Streamboot: this is pc1, machine id {machineId}", script, StringComparison.Ordinal);
        Assert.Contains("booting vDisk gold version 1 (write cache: server-disk)", script, StringComparison.Ordinal);
        Assert.Contains($"sanboot --drive 0x80 {_base}/vdisk/gold/pc1 || goto failed", script, StringComparison.Ordinal);
        Assert.Contains("sleep 7", script, StringComparison.Ordinal);
        await LoggedAsync("boots vDisk gold version 1 as pc1 (platform pcbios, arch i386)");
    }

    [Fact]
    public async Task A_vdisk_with_a_kernel_beside_it_boots_the_kernel_with_the_session_on_its_command_line()
    {
        var boot = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "vdisks", "gold", "boot"));
        var kernel = new byte[300_000];
        Random.Shared.NextBytes(kernel);
        await File.WriteAllBytesAsync(Path.Combine(boot.FullName, "vmlinuz"), kernel);
        await File.WriteAllTextAsync(Path.Combine(boot.FullName, "initrd.img"), "initrd");
        await File.WriteAllTextAsync(Path.Combine(boot.FullName, "cmdline"), "console=ttyS0 quiet\n");

        var script = await ScriptAsync("mac=52:54:00:00:00:01");
        var device = await _cli.JsonAsync("device", "show", "pc1");
        var kernelLine = Assert.Single(script.Split('\n'), l => l.StartsWith("kernel ", StringComparison.Ordinal));
        Assert.Equal(
            $"kernel {_base}/boot/files/gold/vmlinuz initrd=initrd.img console=ttyS0 quiet streamboot.url={_base} streamboot.nbd=127.0.0.1:{_nbdPort} " +
            $"streamboot.export=gold/pc1 streamboot.name=pc1 streamboot.machine_id={device.GetProperty("machineId").GetGuid():N} streamboot.cache=server-disk || goto failed",
            kernelLine);
        Assert.Contains($"initrd {_base}/boot/files/gold/initrd.img || goto failed", script, StringComparison.Ordinal);

        Assert.Equal(kernel, await _http.GetByteArrayAsync($"{_base}/boot/files/gold/vmlinuz"));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"{_base}/boot/files/gold/vmlinuz");
        ranged.Headers.Range = new RangeHeaderValue(1000, 1999);
        using var part = await _http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(kernel[1000..2000], await part.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/boot/files/gold/cmdline")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/boot/files/gold/..%2F..%2Fstreamboot.db")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/boot/files/nope/vmlinuz")).StatusCode);
    }

    [Fact]
    public async Task Two_vdisks_give_a_menu_that_falls_to_the_default()
    {
        await _cli.OkAsync("assign", "pc1", "other", "--default");
        var script = await ScriptAsync("mac=52:54:00:00:00:01");
        Assert.Contains("menu Streamboot: pc1 - choose a vDisk", script, StringComparison.Ordinal);
        Assert.Contains("item v0 gold - Golden image\n", script, StringComparison.Ordinal);
        Assert.Contains("item v1 other (default)\n", script, StringComparison.Ordinal);
        Assert.Contains("choose --default v1 --timeout 3000 selected || goto v1", script, StringComparison.Ordinal);
        Assert.Contains($"chain --replace --autofree {_base}/boot.ipxe?mac=52:54:00:00:00:01&vdisk=other", script, StringComparison.Ordinal);

        var chosen = await ScriptAsync("mac=52:54:00:00:00:01&vdisk=other");
        Assert.Contains("booting vDisk other version 1", chosen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_machines_get_their_collections_policy()
    {
        var refused = await ScriptAsync("mac=52:54:00:aa:bb:01");
        Assert.Contains("echo Streamboot: this machine (52:54:00:aa:bb:01) is not registered; streamboot device add 52:54:00:aa:bb:01 registers it", refused, StringComparison.Ordinal);
        Assert.Contains($"chain --replace --autofree {_base}/boot.ipxe?mac=${{net0/mac}}", refused, StringComparison.Ordinal);
        await LoggedAsync("refused 52:54:00:aa:bb:01 from 127.0.0.1 (UnknownDevice)");

        await _cli.OkAsync("collection", "set", "lab", "--policy", "auto-register", "--default-vdisk", "gold", "--receives-unknown");
        var registered = await ScriptAsync("mac=52:54:00:aa:bb:01");
        Assert.Contains("echo Streamboot: registered this machine as LAB-01 in collection lab", registered, StringComparison.Ordinal);
        Assert.Contains("booting vDisk gold", registered, StringComparison.Ordinal);
        var device = await _cli.JsonAsync("device", "show", "52:54:00:aa:bb:01");
        Assert.Equal("LAB-01", device.GetProperty("name").GetString());
        await LoggedAsync("registered unknown machine 52:54:00:aa:bb:01 as LAB-01 in collection lab");

        await _cli.OkAsync("collection", "set", "lab", "--policy", "menu");
        var menu = await ScriptAsync("mac=52:54:00:aa:bb:02");
        Assert.Contains("is not registered - pick a vDisk to register it with", menu, StringComparison.Ordinal);
        Assert.Contains($"{_base}/boot.ipxe?mac=52:54:00:aa:bb:02&register=other", menu, StringComparison.Ordinal);
        Assert.Contains("registered this machine as LAB-02", await ScriptAsync("mac=52:54:00:aa:bb:02&register=other"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_requests_get_a_readable_refusal()
    {
        Assert.Contains("names no MAC address", await ScriptAsync("mac="), StringComparison.Ordinal);
        Assert.Equal(
            $"#!ipxe\nchain --replace --autofree {_base}/boot.ipxe?mac=${{net0/mac}}&uuid=${{uuid}}&buildarch=${{buildarch}}&platform=${{platform}}\n",
            await ScriptAsync(""));
        var bad = await ScriptAsync("mac=" + Uri.EscapeDataString("${evil}\n#!ipxe\nshell"));
        Assert.Contains("is not a MAC address", bad, StringComparison.Ordinal);
        Assert.DoesNotContain("${evil}", bad, StringComparison.Ordinal);
        Assert.DoesNotContain("\nshell", bad, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.GetAsync($"{_base}/boot/identity")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.GetAsync($"{_base}/boot/identity?mac=xyz")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/boot/identity?mac=52:54:00:00:00:99")).StatusCode);
    }

    [Fact]
    public async Task Identity_tells_the_client_who_it_is_and_where_it_streams_from()
    {
        var json = JsonDocument.Parse(await _http.GetStringAsync($"{_base}/boot/identity?mac=525400000001")).RootElement;
        var device = await _cli.JsonAsync("device", "show", "pc1");
        Assert.Equal("pc1", json.GetProperty("name").GetString());
        Assert.Equal(device.GetProperty("machineId").GetGuid().ToString("N"), json.GetProperty("machineId").GetString());
        Assert.Equal("gold/pc1", json.GetProperty("export").GetString());
        Assert.Equal(_base, json.GetProperty("server").GetString());
        Assert.Equal($"127.0.0.1:{_nbdPort}", json.GetProperty("nbd").GetString());
        Assert.False(json.GetProperty("live").GetBoolean());
    }

    [Fact]
    public async Task A_new_boot_starts_with_an_empty_write_cache_unless_it_is_persistent()
    {
        var uri = $"nbd://127.0.0.1:{_nbdPort}/gold%2Fpc1";
        await QemuImg.IoAsync("raw", uri, "write -P 0x5a 0 64k");
        var overlay = Path.Combine(_cli.DataFolder, "cache", "gold", "pc1.v1.qcow2");
        Assert.True(File.Exists(overlay));
        await WaitForNoLiveSessionAsync();
        await QemuImg.IoAsync("raw", uri, "read -P 0x5a 0 64k");   // a reconnect in the same boot keeps its writes
        await WaitForNoLiveSessionAsync();

        await ScriptAsync("mac=52:54:00:00:00:01");
        Assert.False(File.Exists(overlay));
        await QemuImg.IoAsync("raw", uri, "read -P 0 0 64k");
        await WaitForNoLiveSessionAsync();

        await _cli.OkAsync("device", "set", "pc1", "--persistent-write-cache", "true");
        await QemuImg.IoAsync("raw", uri, "write -P 0x6b 0 64k");
        await WaitForNoLiveSessionAsync();
        await ScriptAsync("mac=52:54:00:00:00:01");
        await QemuImg.IoAsync("raw", uri, "read -P 0x6b 0 64k");
    }

    [Fact]
    public async Task A_second_machine_under_a_live_identity_is_refused_and_logged()
    {
        // An NBD session of pc1 held open from 127.0.0.1; the boot request comes from 127.0.0.2.
        var holder = Nbdsh.RunAsync($$"""
            h.connect_uri("nbd://127.0.0.1:{{_nbdPort}}/gold%2Fpc1")
            import time
            time.sleep(6)
            h.shutdown()
            """);
        await WaitUntilAsync(async () => (await _cli.JsonAsync("session", "list")).GetArrayLength() == 1);
        using var other = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        });
        var script = await other.GetStringAsync($"{_base}/boot.ipxe?mac=52:54:00:00:00:01");
        Assert.Contains("pc1 (52:54:00:00:00:01) is running right now from 127.0.0.1", script, StringComparison.Ordinal);
        await LoggedAsync("its identity is live elsewhere");

        // Nor may it stream the device's view, over HTTP or any protocol: the session is not joined.
        using var stream = await other.GetAsync($"{_base}/vdisk/gold/pc1");
        Assert.Equal(HttpStatusCode.Forbidden, stream.StatusCode);
        Assert.Contains("is streaming to 127.0.0.1", await stream.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await LoggedAsync("Refused gold/pc1 to 127.0.0.2");
        await holder;
    }

    [Fact]
    public async Task The_device_view_is_served_over_http_ranges_as_ipxe_sanboot_reads_it()
    {
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "write -P 0x3c 1M 64k");
        await QemuImg.IoAsync("raw", $"nbd://127.0.0.1:{_nbdPort}/gold%2Fpc1", "write -P 0x4d 2M 4k");
        await WaitForNoLiveSessionAsync();

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{_base}/vdisk/gold/pc1"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(64L << 20, head.Content.Headers.ContentLength);
        Assert.Equal("bytes", Assert.Single(head.Headers.AcceptRanges));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        // curl, a client nobody here wrote, reads ranges of it.
        var part = Path.Combine(_cli.DataFolder, "part.bin");
        var curl = await ProcessRunner.RunAsync("curl", ["-sSf", "-r", $"{(1L << 20) - 512}-{(2L << 20) + 4095}", "-o", part, $"{_base}/vdisk/gold/pc1"]);
        Assert.True(curl.ExitCode == 0, curl.ToString());
        var bytes = await File.ReadAllBytesAsync(part);
        Assert.Equal((1 << 20) + 4096 + 512, bytes.Length);
        Assert.All(bytes[..512], b => Assert.Equal(0, b));
        Assert.All(bytes[512..(512 + 65536)], b => Assert.Equal(0x3c, b));
        Assert.All(bytes[^4096..], b => Assert.Equal(0x4d, b));   // the device's own write, from its write cache

        using var suffix = new HttpRequestMessage(HttpMethod.Get, $"{_base}/vdisk/gold/pc1");
        suffix.Headers.Range = new RangeHeaderValue(null, 1000);
        using var tail = await _http.SendAsync(suffix);
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal($"bytes {(64L << 20) - 1000}-{(64L << 20) - 1}/{64L << 20}", tail.Content.Headers.ContentRange?.ToString());
        using var beyond = new HttpRequestMessage(HttpMethod.Get, $"{_base}/vdisk/gold/pc1");
        beyond.Headers.Range = new RangeHeaderValue(64L << 20, null);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await _http.SendAsync(beyond)).StatusCode);

        var sessions = await _cli.JsonAsync("session", "list");
        var live = Assert.Single(sessions.EnumerateArray());
        Assert.Equal(("pc1", "http"), (live.GetProperty("device").GetString(), live.GetProperty("protocol").GetString()));

        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/vdisk/nope/pc1")).StatusCode);
        await _cli.OkAsync("device", "add", "52:54:00:00:00:02", "--name", "pc2");
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync($"{_base}/vdisk/gold/pc2")).StatusCode);
    }

    private async Task<string> ScriptAsync(string query)
    {
        using var response = await _http.GetAsync($"{_base}/boot.ipxe?{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    private Task LoggedAsync(string text) => _server!.WaitForOutputAsync(text);

    private async Task WaitForNoLiveSessionAsync() =>
        await WaitUntilAsync(async () => (await _cli.JsonAsync("session", "list")).GetArrayLength() == 0);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in 30 s");
            await Task.Delay(100);
        }
    }
}
