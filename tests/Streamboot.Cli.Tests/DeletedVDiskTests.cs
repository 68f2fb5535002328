using System.Globalization;
using System.Net;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// A vDisk deleted, rolled back or pruned while <c>serve</c> runs and
/// clients are connected (the admin verbs change the database from another
/// process): a new client reads what the name means now, a connected
/// client of the old image gets errors, never the new image's bytes mixed
/// with the old one's. Images are made by qemu-img, as a user's would be.
/// </summary>
public sealed class DeletedVDiskTests : IAsyncLifetime
{
    private static readonly TimeSpan s_noticed = TimeSpan.FromSeconds(60);
    private readonly StreambootCli _cli = new();
    private ServerProcess? _server;
    private int _httpPort;
    private int _nbdPort;

    public async Task InitializeAsync()
    {
        _httpPort = Ports.Free();
        _nbdPort = Ports.Free();
        _server = ServerProcess.Start(["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", _httpPort.ToString(CultureInfo.InvariantCulture), "--nbd-port", _nbdPort.ToString(CultureInfo.InvariantCulture)]);
        using var health = await _server.WaitForHttpAsync($"http://127.0.0.1:{_httpPort}/healthz", TimeSpan.FromMinutes(2));
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
    public async Task A_vdisk_deleted_and_imported_again_under_its_name_serves_the_new_image()
    {
        await _cli.OkAsync("vdisk", "import", "g2", await ImageAsync("x", "vmdk", 0xab));
        await ReadNbdAsync("g2", "read -P 0xab 0 64k");
        Assert.Equal(0xab, (await HttpRangeAsync("g2")).Bytes[0]);

        await _cli.OkAsync("vdisk", "delete", "g2");
        await _cli.OkAsync("vdisk", "import", "g2", await ImageAsync("z", "vdi", null));

        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "g2", "g2.1.qcow2"), "read -P 0 0 64k");
        await ReadNbdAsync("g2", "read -P 0 0 64k");
        var http = await HttpRangeAsync("g2");
        Assert.Equal(HttpStatusCode.PartialContent, http.Status);
        Assert.All(http.Bytes, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task A_connected_nbd_client_of_a_deleted_vdisk_gets_errors_never_the_new_disks_bytes()
    {
        await _cli.OkAsync("vdisk", "import", "g3", await ImageAsync("x", "vmdk", 0xab));
        var client = ReadUntilErrorAsync("g3", 0xab);
        await WaitForFileAsync(client.Ready);

        await _cli.OkAsync("vdisk", "delete", "g3");
        await _cli.OkAsync("vdisk", "import", "g3", await ImageAsync("y", "raw", 0xcd));

        var result = await client.Run;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("error after", result.Stdout, StringComparison.Ordinal);
        await _server!.WaitForOutputAsync("vDisk g3 version 1 was deleted while a read-only view had it open");
        // A new connection reads the new disk.
        await ReadNbdAsync("g3", "read -P 0xcd 0 64k");
    }

    [Fact]
    public async Task A_keep_alive_http_client_of_a_deleted_vdisk_gets_410_and_a_new_connection_the_new_disk()
    {
        await _cli.OkAsync("vdisk", "import", "g4", await ImageAsync("x", "vmdk", 0xab));
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) });
        Assert.Equal(0xab, (await RangeAsync(client, "g4")).Bytes[0]);

        await _cli.OkAsync("vdisk", "delete", "g4");
        await _cli.OkAsync("vdisk", "import", "g4", await ImageAsync("y", "raw", 0xcd));

        // The same connection: the old bytes until the server notices, then an error; never 0xcd.
        var deadline = DateTime.UtcNow + s_noticed;
        (HttpStatusCode Status, byte[] Bytes) answer;
        while ((answer = await RangeAsync(client, "g4")).Status == HttpStatusCode.PartialContent)
        {
            Assert.All(answer.Bytes, b => Assert.Equal(0xab, b));
            Assert.True(DateTime.UtcNow < deadline, "the server kept serving the deleted vDisk to its connected client");
            await Task.Delay(200);
        }

        Assert.Equal(HttpStatusCode.Gone, answer.Status);
        var fresh = await HttpRangeAsync("g4");
        Assert.Equal(HttpStatusCode.PartialContent, fresh.Status);
        Assert.All(fresh.Bytes, b => Assert.Equal(0xcd, b));
    }

    [Fact]
    public async Task A_rolled_back_version_ends_its_readers_and_new_readers_get_the_version_below()
    {
        await _cli.OkAsync("vdisk", "import", "g5", await ImageAsync("x", "vmdk", 0x11));
        await _cli.OkAsync("vdisk", "version", "new", "g5");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "g5", "g5.2.qcow2"), "write -P 0x22 0 64k");
        await _cli.OkAsync("vdisk", "version", "promote", "g5", "--to", "production");
        var client = ReadUntilErrorAsync("g5", 0x22);
        await WaitForFileAsync(client.Ready);

        await _cli.OkAsync("vdisk", "version", "rollback", "g5");

        var result = await client.Run;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("error after", result.Stdout, StringComparison.Ordinal);
        await ReadNbdAsync("g5", "read -P 0x11 0 64k");
    }

    [Fact]
    public async Task A_pruned_version_ends_its_readers()
    {
        await _cli.OkAsync("vdisk", "import", "g6", await ImageAsync("x", "vmdk", 0x11));
        await _cli.OkAsync("vdisk", "version", "new", "g6");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "g6", "g6.2.qcow2"), "write -P 0x22 0 64k");
        await _cli.OkAsync("vdisk", "version", "promote", "g6", "--to", "production");
        var client = ReadUntilErrorAsync("g6", 0x22);
        await WaitForFileAsync(client.Ready);

        // merge makes version 3 the base and prunes 1 and 2: no device session runs them.
        await _cli.OkAsync("vdisk", "version", "merge", "g6");
        Assert.False(File.Exists(Path.Combine(_cli.DataFolder, "vdisks", "g6", "g6.2.qcow2")));

        var result = await client.Run;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("error after", result.Stdout, StringComparison.Ordinal);
        await ReadNbdAsync("g6", "read -P 0x22 0 64k");
    }

    /// <summary>
    /// An nbdsh client that reads the export until a read fails: every read
    /// that succeeds must show <paramref name="pattern"/>. It touches its
    /// ready file once connected and reading.
    /// </summary>
    private (string Ready, Task<ProcessResult> Run) ReadUntilErrorAsync(string export, byte pattern)
    {
        var ready = Path.Combine(_cli.DataFolder, $"ready-{Guid.NewGuid():N}");
        var script = $$"""
            import time
            h = nbd.NBD()
            h.connect_uri("{{NbdUri(export)}}")
            expected = bytes([{{pattern}}]) * 65536
            assert h.pread(65536, 0) == expected
            open("{{ready}}", "w").close()
            deadline = time.time() + {{(int)s_noticed.TotalSeconds}}
            reads = 0
            while time.time() < deadline:
                try:
                    data = h.pread(65536, 0)
                except nbd.Error as e:
                    print("error after", reads, "reads:", e, flush=True)
                    break
                assert data == expected, "read other bytes than the old disk's: %r" % data[:4]
                reads += 1
                time.sleep(0.1)
            else:
                raise SystemExit("no error: the deleted version is still served")
            """;
        return (ready, Nbdsh.RunAsync(script));
    }

    private static async Task WaitForFileAsync(string path)
    {
        var deadline = DateTime.UtcNow + s_noticed;
        while (!File.Exists(path))
        {
            Assert.True(DateTime.UtcNow < deadline, "the client did not connect");
            await Task.Delay(100);
        }
    }

    /// <summary>A 1 MiB image in <paramref name="format"/> made by qemu-img, filled with <paramref name="fill"/> (or empty).</summary>
    private async Task<string> ImageAsync(string name, string format, byte? fill)
    {
        var raw = Path.Combine(_cli.DataFolder, $"{name}-{Guid.NewGuid():N}.raw");
        await QemuImg.RunAsync("create", "-f", "raw", raw, "1M");
        if (fill is { } b)
        {
            await QemuImg.IoAsync("raw", raw, $"write -P 0x{b:x2} 0 1M");
        }

        if (format == "raw")
        {
            return raw;
        }

        var image = Path.ChangeExtension(raw, format);
        await QemuImg.RunAsync("convert", "-f", "raw", "-O", format, raw, image);
        return image;
    }

    /// <summary>The first 64 KiB over a new HTTP connection.</summary>
    private async Task<(HttpStatusCode Status, byte[] Bytes)> HttpRangeAsync(string path)
    {
        using var client = new HttpClient();
        return await RangeAsync(client, path);
    }

    private async Task<(HttpStatusCode Status, byte[] Bytes)> RangeAsync(HttpClient client, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{_httpPort}/vdisk/{path}");
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 65535);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>qemu-io reads the read-only export (-r: qemu-io opens for writing unless told).</summary>
    private async Task ReadNbdAsync(string export, string command)
    {
        var result = await ProcessRunner.RunAsync(QemuImg.Path("qemu-io"), ["-r", "-f", "raw", "-c", command, NbdUri(export)]);
        Assert.True(result.ExitCode == 0 && !result.Stdout.Contains("failed", StringComparison.OrdinalIgnoreCase), $"qemu-io {command} {NbdUri(export)}: {result}");
    }

    private string NbdUri(string export) => $"nbd://127.0.0.1:{_nbdPort}/{export.Replace("/", "%2F", StringComparison.Ordinal)}";
}
