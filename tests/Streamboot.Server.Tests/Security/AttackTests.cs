using System.Net;
using System.Net.Sockets;
using System.Text;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Security;

/// <summary>
/// The attacks of a hostile machine on the boot network that knows only MACs
/// and device names, each against the real <c>streamboot serve</c>: each must
/// fail, and the real machine must not notice (its data intact, its boot not
/// refused or delayed).
/// </summary>
public sealed class AttackTests(HostileSite site) : IClassFixture<HostileSite>
{
    private readonly HttpClient _real = HostileSite.ClientFrom(IPAddress.Loopback);
    private readonly HttpClient _attacker = HostileSite.ClientFrom(HostileSite.Attacker);

    [Fact]
    public async Task Naming_a_device_without_its_boots_key_reads_and_writes_nothing_over_nbd_or_http()
    {
        var key = await site.BootAsync(_real, "52:54:00:00:00:01");
        await QemuImg.IoAsync("raw", site.NbdUri($"gold/pc1/{key}"), "write -P 0x5a 1M 64k");

        foreach (var name in new[] { "gold/pc1", "gold/52:54:00:00:00:01", $"gold/pc1/{new string('0', 32)}", $"gold/pc2/{key}" })
        {
            var (reply, socket) = await RawNbd.GoAsync(HostileSite.Attacker, site.NbdPort, name);
            socket.Dispose();
            Assert.True(reply == RawNbd.RepErrPolicy, $"{name}: reply 0x{reply:x8}");
            using var get = await _attacker.GetAsync($"{site.Base}/vdisk/{name}");
            Assert.Equal(HttpStatusCode.Forbidden, get.StatusCode);
            using var head = await _attacker.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{site.Base}/vdisk/{name}"));
            Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        }

        // libnbd's own client, from the server's machine, without a key: no more luck.
        Assert.NotEqual(0, (await ProcessRunner.RunAsync("nbdinfo", [site.NbdUri("gold/pc1")])).ExitCode);
        await QemuImg.IoAsync("raw", site.NbdUri($"gold/pc1/{key}"), "read -P 0x5a 1M 64k", "read -P 0x11 0 1M");
        Assert.DoesNotContain(key, site.Server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Asking_for_a_devices_boot_script_deletes_nothing_and_its_key_takes_nothing_over()
    {
        var key = await site.BootAsync(_real, "52:54:00:00:00:02");
        await QemuImg.IoAsync("raw", site.NbdUri($"gold/pc2/{key}"), "write -P 0x6b 2M 64k");

        // The real machine's link blinks (no connection): once the server has seen its session end,
        // a stranger asks for its script, again and again.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await site.Cli.JsonAsync("session", "list")).EnumerateArray().Any() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        string stolen = "";
        for (var i = 0; i < 25; i++)
        {
            stolen = await site.BootAsync(_attacker, "52:54:00:00:00:02");
        }

        using var takeover = await _attacker.GetAsync($"{site.Base}/vdisk/gold/pc2/{stolen}");
        Assert.Equal(HttpStatusCode.Forbidden, takeover.StatusCode);
        var (reply, socket) = await RawNbd.GoAsync(HostileSite.Attacker, site.NbdPort, $"gold/pc2/{stolen}");
        socket.Dispose();
        Assert.Equal(RawNbd.RepErrPolicy, reply);

        // The real machine reconnects: its disk, its writes.
        await QemuImg.IoAsync("raw", site.NbdUri($"gold/pc2/{key}"), "read -P 0x6b 2M 64k");
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(site.Cli.DataFolder, "cache", "gold"), "pc2.*"));
    }

    [Fact]
    public async Task A_head_or_an_idle_connection_locks_no_device_out_and_refusals_name_no_holder()
    {
        // A HEAD of the device's view, an idle connection to the shared view and
        // a connection that never says a word, all held while the device boots.
        using var head = await _attacker.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{site.Base}/vdisk/gold/pc3"));
        Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        var body = await head.Content.ReadAsStringAsync();
        var (reply, idleView) = await RawNbd.GoAsync(HostileSite.Attacker, site.NbdPort, "gold");
        using var silent = new Socket(SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(HostileSite.Attacker, 0));
        await silent.ConnectAsync(new IPEndPoint(IPAddress.Loopback, site.NbdPort));
        try
        {
            Assert.Equal(RawNbd.RepInfo, reply);
            var key = await site.BootAsync(_real, "52:54:00:00:00:03");
            await QemuImg.IoAsync("raw", site.NbdUri($"gold/pc3/{key}"), "write -P 0x7c 0 4k", "read -P 0x7c 0 4k");

            // While pc3 streams, another machine is refused without learning who or where.
            var holder = Nbdsh.RunAsync($$"""
                h.connect_uri("{{site.NbdUri($"gold/pc3/{key}")}}")
                import time
                time.sleep(5)
                h.shutdown()
                """);
            await WaitUntilAsync(async () => (await site.Cli.JsonAsync("session", "list")).EnumerateArray().Any(s => s.GetProperty("device").GetString() == "pc3"));
            var script = await _attacker.GetStringAsync($"{site.Base}/boot.ipxe?mac=52:54:00:00:00:03");
            Assert.Contains("is running on another machine right now", script, StringComparison.Ordinal);
            using var refused = await _attacker.GetAsync($"{site.Base}/vdisk/gold/pc3/{key}");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            foreach (var text in new[] { script, body, await refused.Content.ReadAsStringAsync() })
            {
                Assert.DoesNotContain("from 127.0.0.1", text, StringComparison.Ordinal);
                Assert.DoesNotMatch(@"session \d", text);
                Assert.DoesNotContain(key, text, StringComparison.Ordinal);
            }

            Assert.True((await holder).ExitCode == 0);
        }
        finally
        {
            idleView.Dispose();
        }
    }

    [Fact]
    public async Task Read_only_views_leave_no_session_rows_however_often_they_are_opened()
    {
        var result = await Nbdsh.RunAsync($$"""
            for i in range(150):
                h = nbd.NBD()
                h.connect_uri("{{site.NbdUri("gold")}}")
                assert h.pread(512, 0) == b"\x11" * 512
                h.shutdown()
                del h
            print("done")
            """);
        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = await site.Cli.JsonAsync("session", "list", "--all");
        Assert.DoesNotContain(rows.EnumerateArray(), s => s.GetProperty("device").ValueKind == System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task Healthz_and_refusals_tell_nobody_where_the_data_is()
    {
        var health = await _attacker.GetStringAsync($"{site.Base}/healthz");
        Assert.Contains("\"status\": \"healthy\"", health, StringComparison.Ordinal);
        Assert.DoesNotContain(site.Cli.DataFolder, health, StringComparison.Ordinal);
        Assert.DoesNotContain("streamboot.db", health, StringComparison.Ordinal);
        Assert.DoesNotContain("@", health, StringComparison.Ordinal);
        var unknown = await _attacker.GetStringAsync($"{site.Base}/boot.ipxe?mac=52:54:00:aa:00:01");
        Assert.DoesNotContain(site.Cli.DataFolder, unknown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task What_the_server_and_the_admin_verbs_write_is_nobody_elses()
    {
        var key = await site.BootAsync(_real, "52:54:00:00:00:04");
        await QemuImg.IoAsync("raw", site.NbdUri($"gold/pc4/{key}"), "write -P 0x44 0 64k");
        await site.Cli.OkAsync("vdisk", "create", "modes", "--size", "1M");
        var loose = Directory.EnumerateFileSystemEntries(site.Cli.DataFolder, "*", SearchOption.AllDirectories)
            .Where(p => (File.GetUnixFileMode(p) & (UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) != 0)
            // The test made the tftp folder and its file itself (its own umask).
            .Where(p => !p.Contains("/tftp", StringComparison.Ordinal))
            .Select(p => $"{p} {File.GetUnixFileMode(p)}")
            .ToList();
        Assert.True(loose.Count == 0, "readable by others or writable by the group:\n" + string.Join('\n', loose));
        Assert.NotEmpty(Directory.GetFiles(site.Cli.DataFolder, "streamboot.db*"));
    }

    [Fact]
    public async Task Too_many_http_connections_from_one_address_are_closed_and_other_machines_are_served()
    {
        var held = new List<Socket>();
        var closed = 0;
        try
        {
            for (var i = 0; i < HostileSite.HttpLimitPerAddress * 3; i++)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(HostileSite.Attacker, 0));
                held.Add(socket);
                try
                {
                    await socket.ConnectAsync(new Uri(site.Base).Host, new Uri(site.Base).Port);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
                {
                    closed++; // closed by the server as soon as it was accepted
                }
            }

            await site.Server.WaitForOutputAsync("HTTP: refused connections from 127.0.0.2");
            // Connections over the limit were closed by the server: a read sees the end.
            foreach (var socket in held.Where(s => s.Connected))
            {
                socket.ReceiveTimeout = 200;
                try
                {
                    if (socket.Receive(new byte[1]) == 0)
                    {
                        closed++;
                    }
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
                {
                    closed++;
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
                {
                    // Still open: the read timed out.
                }
            }

            Assert.True(closed >= HostileSite.HttpLimitPerAddress, $"{closed} of {held.Count} closed");
            var script = await _real.GetStringAsync($"{site.Base}/boot.ipxe?mac=52:54:00:00:00:01");
            Assert.StartsWith("#!ipxe", script, StringComparison.Ordinal);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_tftp_flood_of_never_acknowledged_requests_with_timeout_255_keeps_no_real_client_out()
    {
        using (var flood = new UdpClient(new IPEndPoint(HostileSite.Attacker, 0)))
        {
            var request = Encoding.ASCII.GetBytes("\0\u0001boot.bin\0octet\0timeout\0255\0blksize\01432\0");
            for (var i = 0; i < 1100; i++)
            {
                await flood.SendAsync(request, new IPEndPoint(IPAddress.Loopback, site.TftpPort));
            }
        }

        var copy = Path.Combine(site.Cli.DataFolder, "..", $"tftp-copy-{Guid.NewGuid():N}.bin");
        try
        {
            var tftp = await ProcessRunner.RunAsync("tftp", ["-m", "binary", "127.0.0.1", site.TftpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c", "get", "boot.bin", copy], timeout: TimeSpan.FromSeconds(60));
            Assert.True(tftp.ExitCode == 0 && File.Exists(copy), tftp.ToString());
            Assert.Equal(site.BootFile, await File.ReadAllBytesAsync(copy));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public async Task Client_text_reaches_the_log_escaped()
    {
        var evil = "52:54\u001b[31m\nForged log line\r";
        await _attacker.GetStringAsync($"{site.Base}/boot.ipxe?mac={Uri.EscapeDataString(evil)}");
        await site.Server.WaitForOutputAsync("is not a MAC address");
        Assert.DoesNotContain("\u001b[31m", site.Server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\nForged log line", site.Server.Output, StringComparison.Ordinal);
    }

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
