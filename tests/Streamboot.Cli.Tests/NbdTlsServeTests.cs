using System.Globalization;
using System.Net;
using System.Text;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// NBD over TLS in <c>streamboot serve</c>: the site's certificates made at
/// first start (the files qemu and libnbd expect, keys 0600), real clients
/// through TLS with bytes compared, require refusing plaintext, an admin's own
/// certificate, and garbage where the TLS handshake should be.
/// </summary>
public sealed class NbdTlsServeTests : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private readonly StreambootCli _cli = new();
    private ServerProcess? _server;
    private int _nbdPort;
    private string _plainCopy = "";

    private string TlsFolder => Path.Combine(_cli.DataFolder, "tls");

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "32M", "--format", "qcow2");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "write -P 0x11 0 2M", "write -P 0x22 20M 3M");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1");
        await _cli.OkAsync("assign", "pc1", "gold");
        _plainCopy = Path.Combine(_cli.DataFolder, "expected.raw");
        await QemuImg.RunAsync("convert", "-f", "qcow2", "-O", "raw", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), _plainCopy);
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        _cli.Dispose();
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_first_start_makes_the_site_certificates_and_real_clients_read_through_tls()
    {
        await StartAsync([]);
        Assert.Contains("TLS: made a site CA", _server!.Output, StringComparison.Ordinal);
        foreach (var file in new[] { "ca-cert.pem", "server-cert.pem", "server-key.pem", "ca-key.pem" })
        {
            Assert.True(File.Exists(Path.Combine(TlsFolder, file)), file);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(TlsFolder, "server-key.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(TlsFolder, "ca-key.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(TlsFolder));

        Assert.Contains("with TLS", await RunAsync("nbdinfo", Tls("gold")), StringComparison.Ordinal);
        var copy = Path.Combine(_cli.DataFolder, "tls-copy.raw");
        await RunAsync("nbdcopy", Tls("gold"), copy);
        Assert.True(SameBytes(_plainCopy, copy), "nbdcopy through TLS read other bytes");

        var converted = Path.Combine(_cli.DataFolder, "qemu-copy.raw");
        await QemuImg.RunAsync(
            "convert", "--object", $"tls-creds-x509,id=tls0,dir={TlsFolder},endpoint=client",
            "--image-opts", $"driver=nbd,host=127.0.0.1,port={_nbdPort},export=gold,tls-creds=tls0", "-O", "raw", converted);
        Assert.True(SameBytes(_plainCopy, converted), "qemu-img through TLS read other bytes");

        // The device's own view (with its boot's key, as the boot script gives it), written and read back through TLS.
        var view = (await _cli.OkAsync("session", "key", "pc1")).Stdout.Trim();
        await RunAsync("nbdsh", "-c", $$"""
            h.set_uri_allow_local_file(True)
            h.connect_uri("{{Tls(view)}}")
            h.pwrite(b"\x5a" * 65536, 4 * 1024 * 1024)
            assert h.pread(65536, 4 * 1024 * 1024) == b"\x5a" * 65536
            assert h.pread(4096, 0) == b"\x11" * 4096
            h.shutdown()
            """);

        // The same certificates at the next start: nothing new made.
        var before = await File.ReadAllTextAsync(Path.Combine(TlsFolder, "ca-cert.pem"));
        await StartAsync([]);
        Assert.DoesNotContain("TLS: made", _server!.Output, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(Path.Combine(TlsFolder, "ca-cert.pem")));
        await RunAsync("nbdinfo", Tls("gold"));
    }

    [Fact]
    public async Task Require_refuses_plaintext_clients_and_serves_tls_ones()
    {
        await StartAsync(["--tls", "require"]);
        var plain = await ProcessRunner.RunAsync(Tool("nbdinfo"), [Plain("gold")]);
        Assert.NotEqual(0, plain.ExitCode);
        await using (var client = await NbdRawClient.ConnectAsync(_nbdPort))
        {
            await client.HandshakeAsync();
            await client.SendOptionAsync(7, [0, 0, 0, 4, .. Encoding.ASCII.GetBytes("gold"), 0, 0]); // NBD_OPT_GO
            Assert.Equal(0x80000005u, (await client.ReadOptionReplyAsync()).Reply); // NBD_REP_ERR_TLS_REQD
        }

        var copy = Path.Combine(_cli.DataFolder, "require-copy.raw");
        await RunAsync("nbdcopy", Tls("gold"), copy);
        Assert.True(SameBytes(_plainCopy, copy));

        // Debian's nbd-client (GnuTLS) negotiates on the host too: listing needs no kernel device.
        var nbdClient = ProcessRunner.Find("nbd-client", "/usr/sbin", "/sbin") ?? throw new InvalidOperationException("nbd-client is not installed: install Debian's 'nbd-client' package (./test.sh installs it)");
        var port = _nbdPort.ToString(CultureInfo.InvariantCulture);
        var listed = await ProcessRunner.RunAsync(nbdClient, ["-l", "127.0.0.1", port, "-A", Path.Combine(TlsFolder, "ca-cert.pem"), "-H", "127.0.0.1", "-x"]);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("gold", listed.Stdout, StringComparison.Ordinal);
        var plainList = await ProcessRunner.RunAsync(nbdClient, ["-l", "127.0.0.1", port]);
        Assert.DoesNotContain("gold", plainList.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Off_offers_no_tls()
    {
        await StartAsync(["--tls", "off"]);
        var tls = await ProcessRunner.RunAsync(Tool("nbdinfo"), [Tls("gold")]);
        Assert.NotEqual(0, tls.ExitCode);
        Assert.Contains("without TLS", await RunAsync("nbdinfo", Plain("gold")), StringComparison.Ordinal);
        Assert.False(Directory.Exists(TlsFolder));
    }

    [Fact]
    public async Task Garbage_where_the_tls_handshake_should_be_closes_the_connection_and_the_server_goes_on()
    {
        await StartAsync(["--tls", "require"]);
        await using (var client = await NbdRawClient.ConnectAsync(_nbdPort))
        {
            await client.HandshakeAsync();
            await client.SendOptionAsync(5, []); // NBD_OPT_STARTTLS
            Assert.Equal(1u, (await client.ReadOptionReplyAsync()).Reply); // NBD_REP_ACK
            await client.SendAsync([.. Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.6\r\n\u001b]0;pwned\u0007"), .. new byte[512]]);
            Assert.True(await client.ClosedByServerAsync());
        }

        await _server!.WaitForOutputAsync("TLS handshake failed, closing");
        Assert.DoesNotContain('\u001b', _server.Output);
        await RunAsync("nbdinfo", Tls("gold"));
    }

    [Fact]
    public async Task An_admins_own_certificate_is_used()
    {
        var own = Path.Combine(_cli.DataFolder, "own");
        Directory.CreateDirectory(own);
        var openssl = ProcessRunner.Find("openssl") ?? throw new InvalidOperationException("openssl is not installed: install Debian's 'openssl' package (./test.sh installs it)");
        var made = await ProcessRunner.RunAsync(openssl, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
            "-subj", "/CN=admin-made", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", Path.Combine(own, "key.pem"), "-out", Path.Combine(own, "ca-cert.pem")]);
        Assert.True(made.ExitCode == 0, made.ToString());
        await StartAsync(["--tls-cert", Path.Combine(own, "ca-cert.pem"), "--tls-key", Path.Combine(own, "key.pem")]);
        Assert.Contains("certificate CN=admin-made", _server!.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(TlsFolder));
        await RunAsync("nbdinfo", $"nbds://127.0.0.1:{_nbdPort}/gold?tls-certificates={own}");
    }

    [Theory]
    [InlineData(new[] { "--tls", "maybe" }, "'maybe' is not a TLS mode; use --tls off, on or require")]
    [InlineData(new[] { "--tls-cert", "/etc/hostname" }, "give both --tls-cert and --tls-key")]
    [InlineData(new[] { "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem" }, "TLS certificate /nonexistent/cert.pem does not exist")]
    public async Task Bad_tls_flags_are_one_line_usage_errors(string[] flags, string expected)
    {
        var result = await _cli.RunAsync(["serve", "--bind", "127.0.0.1", "--http-port", Ports.Free().ToString(CultureInfo.InvariantCulture), .. flags]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_certificate_that_is_not_one_stops_serve_with_what_to_fix()
    {
        var bad = Path.Combine(_cli.DataFolder, "bad.pem");
        await File.WriteAllTextAsync(bad, "not a certificate\n");
        var result = await _cli.RunAsync("serve", "--bind", "127.0.0.1", "--http-port", Ports.Free().ToString(CultureInfo.InvariantCulture), "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture), "--tls-cert", bad, "--tls-key", bad);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot use {bad} with {bad}", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--tls off", result.Stderr, StringComparison.Ordinal);
    }

    private async Task StartAsync(string[] flags)
    {
        await StopAsync();
        var http = Ports.Free();
        _nbdPort = Ports.Free();
        _server = ServerProcess.Start(["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", _nbdPort.ToString(CultureInfo.InvariantCulture), .. flags]);
        using var health = await _server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private async Task StopAsync()
    {
        if (_server is not null)
        {
            Assert.Equal(0, await _server.TerminateAsync(TimeSpan.FromSeconds(60)));
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private string Plain(string export) => $"nbd://127.0.0.1:{_nbdPort}/{export.Replace("/", "%2F", StringComparison.Ordinal)}";

    private string Tls(string export) => $"nbds://127.0.0.1:{_nbdPort}/{export.Replace("/", "%2F", StringComparison.Ordinal)}?tls-certificates={TlsFolder}";

    private static string Tool(string tool) =>
        ProcessRunner.Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's 'libnbd-bin' package (./test.sh installs it)");

    private static async Task<string> RunAsync(string tool, params string[] arguments)
    {
        // nbdsh runs the first python3 on PATH, which must be Debian's (python3-libnbd).
        var environment = new Dictionary<string, string?> { ["PATH"] = "/usr/bin:/bin:" + Environment.GetEnvironmentVariable("PATH") };
        var result = await ProcessRunner.RunAsync(Tool(tool), arguments, environment);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }

    private static bool SameBytes(string a, string b) => File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b));
}
