using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// <c>streamboot serve</c> answering booting clients over HTTP: the iPXE
/// script for each case with the boot's key, the identity endpoint, boot
/// files with ranges, and a new boot throwing away the last boot's writes
/// when it starts (not when somebody asks for a script). (The same scripts
/// run in real iPXE in the VM boot tests.)
/// </summary>
public sealed partial class BootScriptTests : IAsyncLifetime
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
        Assert.Matches($"\nsanboot --drive 0x80 {Regex.Escape(_base)}/vdisk/gold/pc1/[0-9a-f]{{32}} \\|\\| goto failed\n", script);
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
        var key = KeyOf(script);
        var device = await _cli.JsonAsync("device", "show", "pc1");
        var kernelLine = Assert.Single(script.Split('\n'), l => l.StartsWith("kernel ", StringComparison.Ordinal));
        // The key opens the boot files, and is not on the command line (every user of the OS can read /proc/cmdline).
        Assert.Equal(
            $"kernel {_base}/boot/files/gold/vmlinuz?key={key} initrd=initrd.img initrd=streamboot-key.cpio console=ttyS0 quiet streamboot.url={_base} streamboot.nbd=127.0.0.1:{_nbdPort} " +
            $"streamboot.export=gold/pc1 streamboot.name=pc1 streamboot.machine_id={device.GetProperty("machineId").GetGuid():N} streamboot.cache=server-disk " +
            "BOOTIF=01-${netX/mac:hexhyp} streamboot.ip=${netX/ip}:${netX/netmask}:${netX/gateway}:${netX/dns} || goto failed",
            kernelLine);
        Assert.Contains($"initrd {_base}/boot/files/gold/initrd.img?key={key} || goto failed\n", script, StringComparison.Ordinal);
        Assert.Contains($"initrd {_base}/boot/key/{key}/streamboot-key.cpio || goto failed\n", script, StringComparison.Ordinal);

        // The key's initramfs piece, unpacked by cpio as the kernel unpacks it.
        var unpacked = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "unpacked")).FullName;
        var archive = Path.Combine(_cli.DataFolder, "key.cpio");
        await File.WriteAllBytesAsync(archive, await _http.GetByteArrayAsync($"{_base}/boot/key/{key}/streamboot-key.cpio"));
        var cpio = await ProcessRunner.RunAsync("sh", ["-c", $"cpio -idm --no-absolute-filenames < '{archive}'"], workingDirectory: unpacked);
        Assert.True(cpio.ExitCode == 0, cpio.ToString());
        var keyFile = Path.Combine(unpacked, "etc", "streamboot", "boot.key");
        Assert.Equal(key + "\n", await File.ReadAllTextAsync(keyFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/boot/key/..%2Fnot-a-key/streamboot-key.cpio")).StatusCode);

        // A plain GET (what iPXE sends) is read into the response pipe in 256 KiB pieces: the 300,000 bytes take two.
        using var whole = await _http.GetAsync($"{_base}/boot/files/gold/vmlinuz");
        Assert.Equal(kernel.Length, whole.Content.Headers.ContentLength);
        Assert.Equal("bytes", Assert.Single(whole.Headers.AcceptRanges));
        Assert.Equal(kernel, await whole.Content.ReadAsByteArrayAsync());
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"{_base}/boot/files/gold/vmlinuz");
        ranged.Headers.Range = new RangeHeaderValue(1000, 1999);
        using var part = await _http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(kernel[1000..2000], await part.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/boot/files/gold/cmdline")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/boot/files/gold/..%2F..%2Fstreamboot.db")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/boot/files/nope/vmlinuz")).StatusCode);

        // A command line that configures the network itself keeps it: no BOOTIF or address of iPXE's beside it.
        await File.WriteAllTextAsync(Path.Combine(boot.FullName, "cmdline"), "console=ttyS0 ip=10.9.0.5::10.9.0.1:255.255.255.0::eth1:off BOOTIF=01-52-54-00-00-00-09\n");
        var own = Assert.Single((await ScriptAsync("mac=52:54:00:00:00:01")).Split('\n'), l => l.StartsWith("kernel ", StringComparison.Ordinal));
        Assert.DoesNotContain("streamboot.ip=", own, StringComparison.Ordinal);
        Assert.DoesNotContain("${netX/mac:hexhyp}", own, StringComparison.Ordinal);
        Assert.Contains(" ip=10.9.0.5::10.9.0.1:255.255.255.0::eth1:off BOOTIF=01-52-54-00-00-00-09 ", own, StringComparison.Ordinal);
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
    public async Task Identity_tells_the_client_who_it_is_with_its_boots_key_only()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync($"{_base}/boot/identity?mac=525400000001")).StatusCode);
        var key = KeyOf(await ScriptAsync("mac=52:54:00:00:00:01"));
        var json = JsonDocument.Parse(await _http.GetStringAsync($"{_base}/boot/identity?mac=525400000001&key={key}")).RootElement;
        var device = await _cli.JsonAsync("device", "show", "pc1");
        Assert.Equal("pc1", json.GetProperty("name").GetString());
        Assert.Equal(device.GetProperty("machineId").GetGuid().ToString("N"), json.GetProperty("machineId").GetString());
        Assert.Equal(("gold/pc1", key), (json.GetProperty("export").GetString(), json.GetProperty("key").GetString()));
        Assert.Equal(_base, json.GetProperty("server").GetString());
        Assert.Equal($"127.0.0.1:{_nbdPort}", json.GetProperty("nbd").GetString());
        Assert.False(json.GetProperty("live").GetBoolean());
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync($"{_base}/boot/identity?mac=525400000001&key={new string('a', 32)}")).StatusCode);
    }

    [Fact]
    public async Task A_new_boot_starts_with_an_empty_write_cache_when_it_opens_its_disk_unless_it_is_persistent()
    {
        var first = NbdUri(KeyOf(await ScriptAsync("mac=52:54:00:00:00:01")));
        await QemuImg.IoAsync("raw", first, "write -P 0x5a 0 64k");
        var overlay = Assert.Single(Directory.GetFiles(Path.Combine(_cli.DataFolder, "cache", "gold"), "pc1.v1.*.qcow2"));
        await WaitForNoLiveSessionAsync();
        await QemuImg.IoAsync("raw", first, "read -P 0x5a 0 64k");   // a reconnect in the same boot keeps its writes
        await WaitForNoLiveSessionAsync();

        // Asking for a boot script changes nothing yet: the running boot reconnects to its writes.
        var second = NbdUri(KeyOf(await ScriptAsync("mac=52:54:00:00:00:01")));
        Assert.True(File.Exists(overlay));
        await QemuImg.IoAsync("raw", first, "read -P 0x5a 0 64k");
        await WaitForNoLiveSessionAsync();

        // The new boot opens its disk: the last boot's writes are gone, and so is its key.
        await QemuImg.IoAsync("raw", second, "read -P 0 0 64k");
        await WaitForNoLiveSessionAsync();
        Assert.NotEqual(0, (await ProcessRunner.RunAsync("qemu-io", ["-f", "raw", "-r", "-c", "read 0 512", first])).ExitCode);

        await _cli.OkAsync("device", "set", "pc1", "--persistent-write-cache", "true");
        await QemuImg.IoAsync("raw", second, "write -P 0x6b 0 64k");
        await WaitForNoLiveSessionAsync();
        await QemuImg.IoAsync("raw", NbdUri(KeyOf(await ScriptAsync("mac=52:54:00:00:00:01"))), "read -P 0x6b 0 64k");
    }

    [Fact]
    public async Task A_second_machine_under_a_live_identity_is_refused_without_learning_who_holds_it()
    {
        // An NBD session of pc1 held open from 127.0.0.1; the boot request comes from 127.0.0.2.
        var key = KeyOf(await ScriptAsync("mac=52:54:00:00:00:01"));
        var holder = Nbdsh.RunAsync($$"""
            h.connect_uri("{{NbdUri(key)}}")
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
        Assert.Contains("pc1 (52:54:00:00:00:01) is running on another machine right now", script, StringComparison.Ordinal);
        Assert.DoesNotContain("from 127.0.0.1", script, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"session \d", script);
        await LoggedAsync("refused 52:54:00:00:00:01 from 127.0.0.2 (IdentityInUse)");

        // Nor may it stream the device's view, over HTTP or any protocol, even with the key: the session is not joined.
        foreach (var url in new[] { $"{_base}/vdisk/gold/pc1/{key}", $"{_base}/vdisk/gold/pc1" })
        {
            using var stream = await other.GetAsync(url);
            Assert.Equal(HttpStatusCode.Forbidden, stream.StatusCode);
            var body = await stream.Content.ReadAsStringAsync();
            Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
            Assert.DoesNotContain(key, body, StringComparison.Ordinal);
        }

        await LoggedAsync("Refused pc1 to 127.0.0.2: its boot is streaming to 127.0.0.1");
        await holder;
        Assert.DoesNotContain(key, _server!.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_device_view_is_served_over_http_ranges_as_ipxe_sanboot_reads_it()
    {
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "write -P 0x3c 1M 64k");
        var key = KeyOf(await ScriptAsync("mac=52:54:00:00:00:01"));
        await QemuImg.IoAsync("raw", NbdUri(key), "write -P 0x4d 2M 4k");
        await WaitForNoLiveSessionAsync();
        var view = $"{_base}/vdisk/gold/pc1/{key}";

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, view));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(64L << 20, head.Content.Headers.ContentLength);
        Assert.Equal("bytes", Assert.Single(head.Headers.AcceptRanges));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        // curl, a client nobody here wrote, reads ranges of it.
        var part = Path.Combine(_cli.DataFolder, "part.bin");
        var curl = await ProcessRunner.RunAsync("curl", ["-sSf", "-r", $"{(1L << 20) - 512}-{(2L << 20) + 4095}", "-o", part, view]);
        Assert.True(curl.ExitCode == 0, curl.ToString());
        var bytes = await File.ReadAllBytesAsync(part);
        Assert.Equal((1 << 20) + 4096 + 512, bytes.Length);
        Assert.All(bytes[..512], b => Assert.Equal(0, b));
        Assert.All(bytes[512..(512 + 65536)], b => Assert.Equal(0x3c, b));
        Assert.All(bytes[^4096..], b => Assert.Equal(0x4d, b));   // the device's own write, from its write cache

        using var suffix = new HttpRequestMessage(HttpMethod.Get, view);
        suffix.Headers.Range = new RangeHeaderValue(null, 1000);
        using var tail = await _http.SendAsync(suffix);
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal($"bytes {(64L << 20) - 1000}-{(64L << 20) - 1}/{64L << 20}", tail.Content.Headers.ContentRange?.ToString());
        using var beyond = new HttpRequestMessage(HttpMethod.Get, view);
        beyond.Headers.Range = new RangeHeaderValue(64L << 20, null);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await _http.SendAsync(beyond)).StatusCode);

        var sessions = await _cli.JsonAsync("session", "list");
        var live = Assert.Single(sessions.EnumerateArray());
        Assert.Equal(("pc1", "http"), (live.GetProperty("device").GetString(), live.GetProperty("protocol").GetString()));

        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync($"{_base}/vdisk/nope/pc1/{key}")).StatusCode);
        await _cli.OkAsync("device", "add", "52:54:00:00:00:02", "--name", "pc2");
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync($"{_base}/vdisk/gold/pc2/{key}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _http.GetAsync($"{_base}/vdisk/gold/pc1")).StatusCode);
    }

    private async Task<string> ScriptAsync(string query)
    {
        using var response = await _http.GetAsync($"{_base}/boot.ipxe?{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    private Task LoggedAsync(string text) => _server!.WaitForOutputAsync(text);

    /// <summary>The boot's key in a boot script (its SAN URL or its key's initramfs piece).</summary>
    private static string KeyOf(string script) => ScriptKey().Match(script) is { Success: true } m ? m.Groups[1].Value : throw new Xunit.Sdk.XunitException("no key in the script:\n" + script);

    private string NbdUri(string key) => $"nbd://127.0.0.1:{_nbdPort}/gold%2Fpc1%2F{key}";

    [GeneratedRegex(@"/(?:boot/key|vdisk/[^/\s]+/[^/\s]+)/([0-9a-f]{32})\b")]
    private static partial Regex ScriptKey();

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
