using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// What goes wrong from elsewhere, each as one line and a non-zero exit:
/// the Admin layer's refusals word for word as at the server, missing or
/// read-only credentials, a remote and a local site named together, verbs
/// that only work at the server, a server that cannot be reached, that is
/// not trusted, that hangs, that answers too much, that limits requests.
/// </summary>
[Collection(RemoteSiteCollection.Name)]
public sealed class RemoteFailureTests(RemoteSite site)
{
    [Theory]
    [InlineData(1, "device", "show", "ghost")]
    [InlineData(1, "vdisk", "show", "nope")]
    [InlineData(1, "device", "add", "52:54:00:00:00:09", "--collection", "nope")]
    [InlineData(2, "device", "add", "zz:zz:zz")]
    [InlineData(2, "collection", "add", "c", "--policy", "sometimes")]
    [InlineData(2, "vdisk", "set", "gold", "--write-cache", "sometimes")]
    [InlineData(1, "vdisk", "version", "promote", "gold")]
    public async Task A_refusal_reads_and_exits_the_same_as_at_the_server(int exitCode, params string[] arguments)
    {
        var local = await site.Local.RunAsync(arguments);
        var remote = await site.RemoteAsync(site.AdminToken, arguments);
        Assert.True(local.ExitCode == exitCode, local.ToString());
        Assert.True(remote.ExitCode == exitCode, remote.ToString());
        Assert.Equal(local.Stderr, remote.Stderr);
        Assert.Single(remote.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("streamboot: ", remote.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_credentials_the_server_answers_401_and_the_line_says_where_a_token_comes_from()
    {
        var result = await site.RemoteAsync(null, ["device", "list"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            $"streamboot: the server at {site.Url} needs credentials: set STREAMBOOT_TOKEN to a token from 'streamboot token create NAME --scope admin' (or --scope read to look only), run on the server; or STREAMBOOT_USER and STREAMBOOT_PASSWORD of an admin account",
            result.Stderr.Trim());

        // The same request as curl sends it: the server's own 401.
        var curl = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", $"{site.Url}/api/v1/devices"]);
        Assert.Equal("401", curl.Stdout);
    }

    [Fact]
    public async Task A_read_token_reads_and_its_change_is_forbidden_with_the_scope_named_and_nothing_written()
    {
        Assert.Equal(0, (await site.RemoteAsync(site.ReadToken, ["device", "list"])).ExitCode);
        var before = (await site.Local.JsonAsync("device", "list")).GetArrayLength();
        var result = await site.RemoteAsync(site.ReadToken, ["device", "add", "52:54:00:00:00:0f"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the token in STREAMBOOT_TOKEN has scope read: it may look, but a change (POST /api/v1/devices) needs a token of scope admin", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, (await site.Local.JsonAsync("device", "list")).GetArrayLength());
        // Tokens are admin's to read too.
        Assert.Contains("needs a token of scope admin", (await site.RemoteAsync(site.ReadToken, ["token", "list"])).Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--server names a remote site and --data a local one", "--data", "/tmp")]
    [InlineData("--server names a remote site and --db a local one", "--db", "/tmp/x.db")]
    [InlineData("--ca (STREAMBOOT_CA) is for an https:// server", "--ca", "/etc/hostname")]
    public async Task A_remote_site_with_a_local_one_or_a_CA_for_plain_HTTP_is_a_usage_error(string message, params string[] extra)
    {
        var result = await site.RemoteAsync(site.AdminToken, ["device", "list", .. extra]);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("streamboot: " + message, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Usage_errors_of_the_remote_settings_come_before_any_request()
    {
        var fromEnvironment = await site.RemoteAsync(site.AdminToken, ["device", "list"], new Dictionary<string, string?> { ["STREAMBOOT_DATA"] = site.Local.DataFolder });
        Assert.Equal(2, fromEnvironment.ExitCode);
        Assert.Contains("--server names a remote site and STREAMBOOT_DATA a local one", fromEnvironment.Stderr, StringComparison.Ordinal);

        var both = await site.RemoteAsync(site.AdminToken, ["device", "list"], new Dictionary<string, string?> { ["STREAMBOOT_USER"] = "admin", ["STREAMBOOT_PASSWORD"] = "x" });
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("set one of them", both.Stderr, StringComparison.Ordinal);

        var noScheme = await site.RemoteAsync(site.AdminToken, ["device", "list"], url: "pvs1:8443");
        Assert.Equal(2, noScheme.ExitCode);
        Assert.Contains("is not a server's URL; give http:// or https://", noScheme.Stderr, StringComparison.Ordinal);

        var userInfo = await site.RemoteAsync(null, ["device", "list"], url: site.Url.Replace("http://", "http://admin:secret@", StringComparison.Ordinal));
        Assert.Equal(2, userInfo.ExitCode);
        Assert.Contains("carries credentials in its URL", userInfo.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", userInfo.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("does not run through --server: it opens the site database directly", "db", "status")]
    [InlineData("does not run through --server: a password is set at the server", "account", "password", "admin", "--password-file", "/etc/hostname")]
    [InlineData("does not run through --server: it starts a server on this machine", "serve")]
    [InlineData("does not run through --server: it runs a server and a VM on this machine", "demo", "--check")]
    [InlineData("does not run through --server: it attaches this terminal to the VM's serial socket", "vm", "console", "tiny")]
    [InlineData("through --server nothing is asked", "vm", "create")]
    public async Task Verbs_that_need_the_servers_own_machine_are_refused_with_what_to_do_instead(string message, params string[] arguments)
    {
        var result = await site.RemoteAsync(site.AdminToken, arguments);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_server_that_is_not_there_is_named_with_what_to_check()
    {
        var url = $"http://127.0.0.1:{Ports.Free().ToString(CultureInfo.InvariantCulture)}";
        var result = await site.RemoteAsync(site.AdminToken, ["vdisk", "list"], url: url);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"streamboot: cannot reach the server at {url}: connection refused; is 'streamboot serve' running there, and is that its HTTP port (8080) or HTTPS port (8443)?", result.Stderr.Trim());

        var unresolved = await site.RemoteAsync(site.AdminToken, ["vdisk", "list"], url: "https://no-such-host.invalid:8443");
        Assert.Equal(1, unresolved.ExitCode);
        Assert.Contains("the name no-such-host.invalid does not resolve", unresolved.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_HTTPS_the_sites_CA_is_trusted_and_nothing_else()
    {
        var secure = await site.RemoteAsync(site.AdminToken, ["device", "list", "--json", "--ca", site.CaFile], url: site.SecureUrl);
        Assert.True(secure.ExitCode == 0, secure.ToString());
        Assert.Equal((await site.Local.OkAsync("device", "list", "--json")).Stdout, secure.Stdout);
        var fromEnvironment = await site.RemoteAsync(site.ReadToken, ["vdisk", "list"], new Dictionary<string, string?> { ["STREAMBOOT_CA"] = site.CaFile }, url: site.SecureUrl);
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.ToString());

        // Not trusted by the system, and never accepted unchecked.
        var untrusted = await site.RemoteAsync(site.AdminToken, ["device", "list"], url: site.SecureUrl);
        Assert.Equal(1, untrusted.ExitCode);
        Assert.StartsWith($"streamboot: refused the server at {site.SecureUrl}: its certificate is not trusted by this system", untrusted.Stderr, StringComparison.Ordinal);
        Assert.Contains("Give its site's CA with --ca FILE", untrusted.Stderr, StringComparison.Ordinal);

        // Another CA is no better: a certificate of its own making.
        using var other = new TempFolder("streamboot-other-ca");
        var otherCa = Path.Combine(other.Path, "ca.pem");
        var made = await ProcessRunner.RunAsync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", Path.Combine(other.Path, "key.pem"), "-out", otherCa, "-subj", "/CN=other", "-days", "1"]);
        Assert.True(made.ExitCode == 0, made.ToString());
        var wrongCa = await site.RemoteAsync(site.AdminToken, ["device", "list", "--ca", otherCa], url: site.SecureUrl);
        Assert.Equal(1, wrongCa.ExitCode);
        Assert.Contains("its certificate does not chain to the given CA", wrongCa.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, (await site.RemoteAsync(site.AdminToken, ["device", "list", "--ca", Path.Combine(other.Path, "none.pem")], url: site.SecureUrl)).ExitCode);
    }

    [Fact]
    public async Task A_server_that_hangs_or_answers_too_much_is_cut_off_at_the_bounds()
    {
        // A listener that accepts and never answers: the request's time runs out.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await silent.AcceptTcpClientAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        });
        var url = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture)}";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var hung = await site.RemoteAsync(site.AdminToken, ["vdisk", "list"], new Dictionary<string, string?> { ["STREAMBOOT_REMOTE_TIMEOUT_SECONDS"] = "2" }, url);
        Assert.Equal(1, hung.ExitCode);
        Assert.Equal($"streamboot: the server at {url} did not answer within 2 s; check that it runs and is reachable, or allow longer with STREAMBOOT_REMOTE_TIMEOUT_SECONDS", hung.Stderr.Trim());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");

        // A server whose answer is bigger than the limit: refused by its announced length, and by what it sends without one.
        foreach (var chunked in new[] { false, true })
        {
            using var big = new TcpListener(IPAddress.Loopback, 0);
            big.Start();
            var serving = ServeHugeAsync(big, chunked);
            var bigUrl = $"http://127.0.0.1:{((IPEndPoint)big.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture)}";
            var flooded = await site.RemoteAsync(site.AdminToken, ["vdisk", "list"], new Dictionary<string, string?> { ["STREAMBOOT_REMOTE_MAX_RESPONSE"] = "1M" }, bigUrl);
            Assert.Equal(1, flooded.ExitCode);
            Assert.Equal($"streamboot: the answer of {bigUrl} to GET /api/v1/vdisks is larger than 1 MiB, the most this command reads (STREAMBOOT_REMOTE_MAX_RESPONSE)", flooded.Stderr.Trim());
            big.Stop();
            await serving;
        }

        silent.Stop();
        await accepting;
        held.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task A_server_that_limits_requests_gets_a_retry_later_line()
    {
        // A server of its own that takes one request a second from an address;
        // 'vm stop' asks twice at once (the VM's state, then the stop), and the second meets the limit.
        using var cli = new StreambootCli();
        var token = (await cli.OkAsync("token", "create", "burst", "--scope", "admin")).Stdout.Trim();
        var http = Ports.Free();
        await using var server = ServerProcess.Start(
            ["--data", cli.DataFolder, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", Ports.Free().ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { ["STREAMBOOT_API_REQUESTS_PER_SECOND"] = "1" });
        var url = $"http://127.0.0.1:{http.ToString(CultureInfo.InvariantCulture)}";
        using (var health = await server.WaitForHttpAsync($"{url}/healthz", TimeSpan.FromMinutes(2)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        var limited = await site.RemoteAsync(token, ["vm", "stop", "ghost"], url: url);
        Assert.True(limited.ExitCode == 1, limited.ToString());
        Assert.StartsWith($"streamboot: the server at {url} refused a change (POST /api/v1/vms/ghost/stop) for now: too many requests from this address; retry", limited.Stderr, StringComparison.Ordinal);
        Assert.Single(limited.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>Answers one request with 4 MiB of JSON, announced (Content-Length) or chunked.</summary>
    private static async Task ServeHugeAsync(TcpListener listener, bool chunked)
    {
        using var client = await listener.AcceptTcpClientAsync();
        await using var stream = client.GetStream();
        var buffer = new byte[8192];
        var request = new StringBuilder();
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                return;
            }

            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        var body = Encoding.ASCII.GetBytes("[" + string.Join(',', Enumerable.Repeat("\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"", 65536)) + "]");
        try
        {
            if (!chunked)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n"));
                await stream.WriteAsync(body);
                return;
            }

            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
            for (var offset = 0; offset < body.Length; offset += 65536)
            {
                var length = Math.Min(65536, body.Length - offset);
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"{length:x}\r\n"));
                await stream.WriteAsync(body.AsMemory(offset, length));
                await stream.WriteAsync("\r\n"u8.ToArray());
            }

            await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
        }
        catch (IOException)
        {
            // The client stopped reading at its limit and closed: as it should.
        }
    }
}
