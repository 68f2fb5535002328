using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// Whole boot files go out with sendfile, answered before Kestrel sees the
/// request (Server/Http/BootFileSender): checked with curl (one connection
/// for kernel, initrd and key, as iPXE fetches them), with raw requests
/// pipelined, split, closing and idle, and through the counter that says
/// which path answered, so each test fails when the fast path is gone or
/// when it answers what it should leave to Kestrel.
/// </summary>
public sealed partial class BootFileSendfileTests : IAsyncLifetime
{
    private const string Counter = "streamboot_http_boot_files_sendfile_total";
    private readonly StreambootCli _cli = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly byte[] _kernel = RandomNumberGenerator.GetBytes(3_000_000);
    private readonly byte[] _initrd = RandomNumberGenerator.GetBytes(700_001);
    private ServerProcess? _server;
    private string _base = "";
    private int _port;
    private string _key = "";

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "64M");
        await _cli.OkAsync("vdisk", "set", "gold", "--anonymous-reads", "false");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1");
        await _cli.OkAsync("assign", "pc1", "gold");
        var boot = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "vdisks", "gold", "boot"));
        await File.WriteAllBytesAsync(Path.Combine(boot.FullName, "vmlinuz"), _kernel);
        await File.WriteAllBytesAsync(Path.Combine(boot.FullName, "initrd.img"), _initrd);
        _port = Ports.Free();
        _base = $"http://127.0.0.1:{_port}";
        _server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", _port.ToString(CultureInfo.InvariantCulture), "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { ["STREAMBOOT_HTTP_IDLE_SECONDS"] = "3" });
        using var health = await _server.WaitForHttpAsync($"{_base}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var script = await _http.GetStringAsync($"{_base}/boot.ipxe?mac=52:54:00:00:00:01");
        _key = KeyPattern().Match(script) is { Success: true } m ? m.Groups[1].Value : throw new Xunit.Sdk.XunitException("no key in the script:\n" + script);
        Assert.Contains($"/boot/files/gold/vmlinuz?key={_key}", script, StringComparison.Ordinal);
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
    public async Task Curl_fetches_kernel_initrd_and_key_over_one_connection_the_files_by_sendfile()
    {
        var before = await SentAsync();
        var folder = _cli.DataFolder;
        var curl = await ProcessRunner.RunAsync("curl", [
            "-sS", "--fail", "-w", "%{http_code} %{num_connects}\\n",
            "-o", Path.Combine(folder, "k"), $"{_base}/boot/files/gold/vmlinuz?key={_key}",
            "-o", Path.Combine(folder, "i"), $"{_base}/boot/files/gold/initrd.img?key={_key}",
            "-o", Path.Combine(folder, "c"), $"{_base}/boot/key/{_key}/streamboot-key.cpio"]);
        Assert.True(curl.ExitCode == 0, curl.ToString());
        // One connection made for the first file, none for the next two: the key (Kestrel's) follows sendfile's answers on the same connection.
        Assert.Equal(["200 1", "200 0", "200 0"], curl.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(_kernel, await File.ReadAllBytesAsync(Path.Combine(folder, "k")));
        Assert.Equal(_initrd, await File.ReadAllBytesAsync(Path.Combine(folder, "i")));
        Assert.Equal(before + 2, await SentAsync());

        var headers = await ProcessRunner.RunAsync("curl", ["-sS", "-D", "-", "-o", "/dev/null", $"{_base}/boot/files/gold/initrd.img?key={_key}"]);
        Assert.Contains("HTTP/1.1 200 OK", headers.Stdout, StringComparison.Ordinal);
        Assert.Contains("Content-Length: 700001", headers.Stdout, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/octet-stream", headers.Stdout, StringComparison.Ordinal);
        Assert.Contains("Accept-Ranges: bytes", headers.Stdout, StringComparison.Ordinal);
        Assert.Equal(before + 3, await SentAsync());

        // iPXE keeps its connection from the script to the kernel; the script's answer closes it,
        // so the kernel comes on a new connection that the sendfile path sees first.
        var chained = await ProcessRunner.RunAsync("curl", [
            "-sS", "--fail", "-w", "%{http_code} %{num_connects}\\n",
            "-o", "/dev/null", $"{_base}/boot.ipxe?mac=52:54:00:00:00:01",
            "-o", "/dev/null", $"{_base}/boot/files/gold/vmlinuz?key={_key}"]);
        Assert.True(chained.ExitCode == 0, chained.ToString());
        Assert.Equal(["200 1", "200 1"], chained.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(before + 4, await SentAsync());
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order_and_the_first_one_it_does_not_take_goes_to_kestrel()
    {
        var before = await SentAsync();
        using var client = await ConnectAsync();
        var stream = client.GetStream();
        await WriteAsync(stream,
            Get($"/boot/files/gold/vmlinuz?key={_key}") + Get($"/boot/files/gold/initrd.img?key={_key}")
            + Get($"/boot/files/gold/vmlinuz?key={_key}", "Range: bytes=10-19\r\n")
            + Get("/boot/files/gold/initrd.img?key=00000000000000000000000000000000")
            + Get($"/boot/files/gold/vmlinuz?key={_key}"));
        var reader = new ResponseReader(stream);
        Same(200, _kernel, await reader.NextAsync());
        Same(200, _initrd, await reader.NextAsync());
        Same(206, _kernel[10..20], await reader.NextAsync());
        Assert.Equal(403, (await reader.NextAsync()).Status);
        Same(200, _kernel, await reader.NextAsync());
        // Kestrel took the connection at the range: the last kernel was its, not sendfile's.
        Assert.Equal(before + 2, await SentAsync());
    }

    [Fact]
    public async Task A_head_that_arrives_in_pieces_or_asks_for_more_is_kestrels_and_answered_the_same()
    {
        var before = await SentAsync();
        using (var client = await ConnectAsync())
        {
            var stream = client.GetStream();
            var request = Get($"/boot/files/gold/initrd.img?key={_key}");
            await WriteAsync(stream, request[..30]);
            await Task.Delay(300);
            await WriteAsync(stream, request[30..]);
            Same(200, _initrd, await new ResponseReader(stream).NextAsync());
        }

        foreach (var (extra, status) in new[] { ("If-None-Match: \"x\"\r\n", 200), ("Expect: 100-continue\r\n", 200), ("Transfer-Encoding: chunked\r\n", 200) })
        {
            using var client = await ConnectAsync();
            var stream = client.GetStream();
            await WriteAsync(stream, Get($"/boot/files/gold/initrd.img?key={_key}", extra) + (extra.StartsWith("Transfer", StringComparison.Ordinal) ? "0\r\n\r\n" : ""));
            Assert.Equal(status, (await new ResponseReader(stream).NextAsync()).Status);
        }

        // Without a Host header, or by HTTP/1.0, Kestrel answers as it always did.
        using (var client = await ConnectAsync())
        {
            await WriteAsync(client.GetStream(), $"GET /boot/files/gold/vmlinuz?key={_key} HTTP/1.1\r\n\r\n");
            Assert.Equal(400, (await new ResponseReader(client.GetStream()).NextAsync()).Status);
        }

        Assert.Equal(before, await SentAsync());
    }

    [Fact]
    public async Task Connection_close_closes_after_the_file_and_an_idle_connection_is_closed_after_the_idle_timeout()
    {
        using (var client = await ConnectAsync())
        {
            var stream = client.GetStream();
            await WriteAsync(stream, Get($"/boot/files/gold/initrd.img?key={_key}", "Connection: close\r\n"));
            var reader = new ResponseReader(stream);
            Same(200, _initrd, await reader.NextAsync());
            Assert.True(await reader.AtEndAsync(TimeSpan.FromSeconds(5)), "the server kept a Connection: close connection open");
        }

        using (var client = await ConnectAsync())
        {
            var stream = client.GetStream();
            await WriteAsync(stream, Get($"/boot/files/gold/initrd.img?key={_key}"));
            var reader = new ResponseReader(stream);
            Same(200, _initrd, await reader.NextAsync());
            // STREAMBOOT_HTTP_IDLE_SECONDS=3: open a while, then closed.
            Assert.False(await reader.AtEndAsync(TimeSpan.FromSeconds(1)), "closed before the idle timeout");
            Assert.True(await reader.AtEndAsync(TimeSpan.FromSeconds(10)), "an idle keep-alive connection was kept past the idle timeout");
        }
    }

    [Fact]
    public async Task A_server_stopping_closes_a_keep_alive_connection_the_sendfile_path_holds_at_once()
    {
        // The class's server closes idle connections after 3 s; this one keeps them the default 60 s.
        var port = Ports.Free();
        await using var server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--server-name", "second", "--bind", "127.0.0.1", "--http-port", port.ToString(CultureInfo.InvariantCulture), "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture)]);
        using (var health = await server.WaitForHttpAsync($"http://127.0.0.1:{port}/healthz", TimeSpan.FromMinutes(2)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await WriteAsync(stream, Get($"/boot/files/gold/initrd.img?key={_key}"));
        Same(200, _initrd, await new ResponseReader(stream).NextAsync());
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));
        // Kestrel would otherwise wait for the connection until its own shutdown timeout (30 s) and abort it.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), $"stopping took {stopping.Elapsed.TotalSeconds:0.0} s with an idle boot-file connection open");
    }

    private static void Same(int status, byte[] body, (int Status, byte[] Body) response)
    {
        Assert.Equal(status, response.Status);
        Assert.True(body.AsSpan().SequenceEqual(response.Body), $"the body differs: {response.Body.Length} bytes, {body.Length} expected");
    }

    private static string Get(string target, string extra = "") => $"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: iPXE/1.21.1\r\n{extra}\r\n";

    private async Task<TcpClient> ConnectAsync()
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _port);
        client.ReceiveTimeout = 30_000;
        return client;
    }

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    private async Task<long> SentAsync()
    {
        var metrics = await _http.GetStringAsync($"{_base}/metrics");
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(Counter, StringComparison.Ordinal));
        return line is null ? 0 : (long)double.Parse(line.Split(' ')[^1], CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"/boot/key/([0-9a-f]{32})/")]
    private static partial Regex KeyPattern();

    /// <summary>HTTP/1.1 responses with a Content-Length, one after another on one connection.</summary>
    private sealed class ResponseReader(NetworkStream stream)
    {
        private readonly List<byte> _pending = [];

        public async Task<(int Status, byte[] Body)> NextAsync()
        {
            var head = Encoding.ASCII.GetString(await UntilAsync("\r\n\r\n"u8.ToArray()));
            var status = int.Parse(head.Split(' ')[1], CultureInfo.InvariantCulture);
            var headers = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0].ToLowerInvariant(), p => p[1].Trim());
            if (headers.TryGetValue("content-length", out var length))
            {
                return (status, await TakeAsync(int.Parse(length, CultureInfo.InvariantCulture)));
            }

            Assert.Equal("chunked", headers["transfer-encoding"]);
            var body = new List<byte>();
            while (true)
            {
                var size = Convert.ToInt32(Encoding.ASCII.GetString(await UntilAsync("\r\n"u8.ToArray())).Trim(), 16);
                body.AddRange(await TakeAsync(size));
                await TakeAsync(2);
                if (size == 0)
                {
                    return (status, [.. body]);
                }
            }
        }

        public async Task<bool> AtEndAsync(TimeSpan within)
        {
            using var timeout = new CancellationTokenSource(within);
            try
            {
                var one = new byte[1];
                return await stream.ReadAsync(one, timeout.Token) == 0;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (IOException)
            {
                return true;
            }
        }

        private async Task<byte[]> UntilAsync(byte[] end)
        {
            while (true)
            {
                var at = IndexOf(end);
                if (at >= 0)
                {
                    return await TakeAsync(at + end.Length);
                }

                await FillAsync();
            }
        }

        private async Task<byte[]> TakeAsync(int count)
        {
            while (_pending.Count < count)
            {
                await FillAsync();
            }

            var taken = _pending.GetRange(0, count).ToArray();
            _pending.RemoveRange(0, count);
            return taken;
        }

        private async Task FillAsync()
        {
            var buffer = new byte[65536];
            var n = await stream.ReadAsync(buffer);
            Assert.True(n > 0, "the server closed the connection mid-response");
            _pending.AddRange(buffer.AsSpan(0, n));
        }

        private int IndexOf(byte[] end) => _pending.ToArray().AsSpan().IndexOf(end);
    }
}
