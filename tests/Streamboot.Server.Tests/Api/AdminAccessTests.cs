using System.Globalization;
using System.Net;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Api;

/// <summary>
/// The first admin account from <c>--admin-password-file</c>, passwords set
/// by <c>streamboot account password</c>, the API's per-address request
/// limit, and the token verbs' refusals, against a real <c>streamboot serve</c>.
/// </summary>
public sealed class AdminAccessTests
{
    [Fact]
    public async Task A_password_file_makes_the_first_account_and_the_command_line_changes_its_password()
    {
        using var cli = new StreambootCli();
        using var secrets = new TempFolder("streamboot-secret");
        var passwordFile = Path.Combine(secrets.Path, "password");
        await File.WriteAllTextAsync(passwordFile, "correct horse battery staple\n");
        var http = Ports.Free();
        var https = Ports.Free();
        var url = $"http://127.0.0.1:{http}/api/v1/devices";
        await using var server = ServerProcess.Start(
            ["--data", cli.DataFolder, "--bind", "127.0.0.1", "--http-port", Text(http), "--nbd-port", Text(Ports.Free()), "--iscsi-port", Text(Ports.Free()), "--admin-password-file", passwordFile, "--https-port", Text(https)],
            new Dictionary<string, string?> { ["STREAMBOOT_TFTP_PORT"] = "0", ["STREAMBOOT_API_REQUESTS_PER_SECOND"] = "5" });
        using (var health = await server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(2)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        Assert.False(File.Exists(Path.Combine(cli.DataFolder, "initial-admin-password")), "a given password is not written anywhere");
        Assert.Equal("200", await CurlAsync(url, "admin:correct horse battery staple"));

        // Over HTTPS with the site's own certificate: trusted through its CA, refused without it.
        var ca = Path.Combine(cli.DataFolder, "tls", "ca-cert.pem");
        var secure = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, "-u", "admin:correct horse battery staple", $"https://localhost:{https}/api/v1/devices"]);
        Assert.True(secure.Stdout == "200", secure.ToString());
        var untrusted = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "/dev/null", $"https://localhost:{https}/api/v1/devices"]);
        Assert.Equal(60, untrusted.ExitCode); // curl: peer certificate cannot be authenticated with known CA certificates

        var newFile = Path.Combine(secrets.Path, "new");
        await File.WriteAllTextAsync(newFile, "another long password\n");
        await cli.OkAsync("account", "password", "admin", "--password-file", newFile);
        Assert.Equal("401", await CurlAsync(url, "admin:correct horse battery staple", "127.0.0.9"));
        Assert.Equal("200", await CurlAsync(url, "admin:another long password", "127.0.0.10"));
        var shortOne = Path.Combine(secrets.Path, "short");
        await File.WriteAllTextAsync(shortOne, "short\n");
        var refused = await cli.RunAsync("account", "password", "admin", "--password-file", shortOne);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("at least 12 characters", refused.Stderr, StringComparison.Ordinal);

        // Five requests a second per address: a burst of twenty from one address meets the limit.
        var token = (await cli.OkAsync("token", "create", "burst")).Stdout.Trim();
        var codes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => CurlAsync(url, null, "127.0.0.11", token)));
        Assert.Contains("429", codes);
        Assert.Contains("200", codes);
    }

    [Fact]
    public async Task Token_verbs_refuse_a_bad_scope_an_unknown_name_and_a_duplicate()
    {
        using var cli = new StreambootCli();
        var scope = await cli.RunAsync("token", "create", "ci", "--scope", "root");
        Assert.Equal(2, scope.ExitCode);
        Assert.Contains("use read (look only) or admin", scope.Stderr, StringComparison.Ordinal);
        var made = await cli.OkAsync("token", "create", "ci");
        Assert.Matches("^sbt_[A-Za-z0-9_-]{43}$", made.Stdout.Trim());
        Assert.Contains("not shown again", made.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, (await cli.RunAsync("token", "create", "CI")).ExitCode);
        var unknown = await cli.RunAsync("token", "revoke", "nobody");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no token named 'nobody'", unknown.Stderr, StringComparison.Ordinal);
        await cli.OkAsync("token", "revoke", "ci");
        Assert.Contains("No tokens", (await cli.OkAsync("token", "list")).Stdout, StringComparison.Ordinal);
    }

    private static async Task<string> CurlAsync(string url, string? user, string source = "127.0.0.1", string? token = null)
    {
        List<string> arguments = ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", source];
        if (user is not null)
        {
            arguments.AddRange(["-u", user]);
        }

        if (token is not null)
        {
            arguments.AddRange(["-H", $"Authorization: Bearer {token}"]);
        }

        arguments.Add(url);
        return (await ProcessRunner.RunAsync("curl", arguments)).Stdout;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
