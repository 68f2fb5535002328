using System.Net;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Api;

/// <summary>
/// The admin REST API of a real <c>streamboot serve</c>: every route of its
/// OpenAPI document needs credentials and every change needs an admin
/// token; changes go through the same Admin layer as the command line (its
/// messages, its audit log with the token's name); bad input gets a problem
/// that says what is wrong.
/// </summary>
public sealed class AdminApiTests(ApiSite site) : IClassFixture<ApiSite>
{
    [Fact]
    public async Task The_document_lists_the_routes_and_every_one_answers_401_without_credentials()
    {
        var routes = await site.RoutesAsync();
        foreach (var expected in new[] { "devices", "collections", "vdisks", "vdisks/import", "sessions", "servers", "leases", "audit", "tokens", "vms", "site", "servers/rebalance" })
        {
            Assert.Contains(routes, r => r.Path == expected);
        }

        Assert.DoesNotContain(routes, r => r.Path.Contains("boot.ipxe", StringComparison.Ordinal));
        foreach (var (method, path) in routes)
        {
            var (status, body, response) = await site.SendAsync(method, path, token: null);
            Assert.True(status == HttpStatusCode.Unauthorized, $"{method} {path}: {status}");
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            Assert.Contains("streamboot token create", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // A token nobody made, and a malformed header, are no better.
        Assert.Equal(HttpStatusCode.Unauthorized, (await site.SendAsync(HttpMethod.Get, "devices", "sbt_" + new string('A', 43))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await site.SendAsync(HttpMethod.Get, "devices", "not-a-token")).Status);
    }

    [Fact]
    public async Task A_read_token_reads_every_list_and_is_forbidden_every_change()
    {
        foreach (var (method, path) in await site.RoutesAsync())
        {
            var (status, _, _) = await site.SendAsync(method, path, site.ReadToken, body: new { });
            // Tokens and VMs (QEMU runs as the server's user; a VM's view names the server's files) are admin's only, reads included.
            if (method == HttpMethod.Get && path != "tokens" && !path.StartsWith("vms", StringComparison.Ordinal))
            {
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{method} {path}: {status}");
            }
            else
            {
                Assert.True(status == HttpStatusCode.Forbidden, $"{method} {path}: {status}");
            }
        }
    }

    [Fact]
    public async Task An_admin_token_runs_the_site_through_the_command_lines_own_rules_and_the_audit_log_names_it()
    {
        var (status, collection, _) = await site.SendAsync(HttpMethod.Post, "collections", site.AdminToken, new { name = "lab", namingPattern = "LAB-##", defaultVDisk = "gold" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("LAB-##", collection.GetProperty("namingPattern").GetString());

        (status, var device, _) = await site.SendAsync(HttpMethod.Post, "devices", site.AdminToken, new { mac = "52:54:00:0a:0b:01", collection = "lab" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("LAB-01", device.GetProperty("name").GetString());
        Assert.Equal("gold", device.GetProperty("assignments")[0].GetProperty("vdisk").GetString());

        (status, device, _) = await site.SendAsync(HttpMethod.Patch, "devices/52:54:00:0a:0b:01", site.AdminToken, new { description = "bench 3", enabled = false });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(device.GetProperty("enabled").GetBoolean());

        // What the API did is what the command line sees: one database, one Admin layer.
        var listed = await site.Cli.JsonAsync("device", "show", "LAB-01");
        Assert.Equal("bench 3", listed.GetProperty("description").GetString());

        (status, var vdisk, _) = await site.SendAsync(HttpMethod.Post, "vdisks/gold/versions", site.AdminToken, new { description = "patch tuesday" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(2, vdisk.GetProperty("versions").GetArrayLength());
        (status, _, _) = await site.SendAsync(HttpMethod.Post, "vdisks/gold/promote", site.AdminToken);
        Assert.Equal(HttpStatusCode.OK, status);

        (status, _, _) = await site.SendAsync(HttpMethod.Delete, "devices/LAB-01", site.AdminToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.NotFound, (await site.SendAsync(HttpMethod.Get, "devices/LAB-01", site.ReadToken)).Status);

        var (_, audit, _) = await site.SendAsync(HttpMethod.Get, "audit?limit=50", site.ReadToken);
        var mine = audit.EnumerateArray().Where(e => e.GetProperty("actor").GetString() == "token:ci").Select(e => e.GetProperty("action").GetString()).ToList();
        foreach (var action in new[] { "collection.add", "device.add", "device.set", "device.delete" })
        {
            Assert.Contains(action, mine);
        }
    }

    [Fact]
    public async Task Bad_input_gets_a_problem_with_the_command_lines_own_message()
    {
        var cli = await site.Cli.RunAsync("device", "add", "zz:zz");
        Assert.Equal(2, cli.ExitCode);
        var (status, problem, response) = await site.SendAsync(HttpMethod.Post, "devices", site.AdminToken, new { mac = "zz:zz" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(problem.GetProperty("detail").GetString()!, cli.Stderr, StringComparison.Ordinal);

        (status, problem, _) = await site.SendAsync(HttpMethod.Post, "devices", site.AdminToken, rawBody: "{\"mac\": ");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not the JSON of DeviceCreate", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        (status, problem, _) = await site.SendAsync(HttpMethod.Post, "devices", site.AdminToken);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("needs a JSON body", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        (status, _, _) = await site.SendAsync(HttpMethod.Post, "devices", site.AdminToken, rawBody: "{\"description\": \"" + new string('x', 100_000) + "\"}");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);

        (status, problem, _) = await site.SendAsync(HttpMethod.Get, "devices/NOPE-1", site.ReadToken);
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("NOPE-1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        (status, _, _) = await site.SendAsync(HttpMethod.Get, "audit?limit=0", site.ReadToken);
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [Fact]
    public async Task Concurrent_adds_of_one_MAC_make_one_device_and_the_rest_hear_conflict()
    {
        var adds = Enumerable.Range(0, 12).Select(i => site.SendAsync(HttpMethod.Post, "devices", site.AdminToken, new { mac = "52:54:00:0c:0c:0c", name = $"race-{i}" }));
        var results = await Task.WhenAll(adds);
        Assert.Single(results, r => r.Status == HttpStatusCode.Created);
        Assert.All(results.Where(r => r.Status != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.Status));
        var (_, list, _) = await site.SendAsync(HttpMethod.Get, "devices", site.ReadToken);
        Assert.Single(list.EnumerateArray(), d => d.GetProperty("mac").GetString() == "52:54:00:0c:0c:0c");
    }

    [Fact]
    public async Task Tokens_made_through_the_API_work_at_once_and_stop_at_once_when_revoked()
    {
        var (status, made, _) = await site.SendAsync(HttpMethod.Post, "tokens", site.AdminToken, new { name = "grafana", scope = "read" });
        Assert.Equal(HttpStatusCode.Created, status);
        var secret = made.GetProperty("secret").GetString()!;
        Assert.StartsWith("sbt_", secret, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await site.SendAsync(HttpMethod.Get, "sessions", secret)).Status);

        // Listed by name and scope, never with a secret or its hash.
        var (_, tokens, _) = await site.SendAsync(HttpMethod.Get, "tokens", site.AdminToken);
        var text = tokens.GetRawText();
        Assert.Contains("\"grafana\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);
        var cli = await site.Cli.OkAsync("token", "list");
        Assert.Contains("grafana", cli.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, cli.Stdout, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Conflict, (await site.SendAsync(HttpMethod.Post, "tokens", site.AdminToken, new { name = "GRAFANA", scope = "admin" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await site.SendAsync(HttpMethod.Post, "tokens", site.AdminToken, new { name = "x", scope = "root" })).Status);

        Assert.Equal(HttpStatusCode.OK, (await site.SendAsync(HttpMethod.Delete, "tokens/grafana", site.AdminToken)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await site.SendAsync(HttpMethod.Get, "sessions", secret)).Status);
    }

    [Fact]
    public async Task An_address_that_keeps_sending_wrong_credentials_is_refused_unchecked_for_a_minute()
    {
        // From an address of its own (curl --interface), so the other tests' address keeps its tries.
        async Task<string> CurlAsync(string credentials) =>
            (await ProcessRunner.RunAsync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.7", "-H", $"Authorization: {credentials}", $"{site.Base}/api/v1/devices"])).Stdout;

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("401", await CurlAsync("Bearer sbt_wrong" + i));
        }

        Assert.Equal("429", await CurlAsync("Bearer " + site.ReadToken));
        Assert.Contains("wrong or revoked Bearer credentials", site.Server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("sbt_wrong", site.Server.Output, StringComparison.Ordinal);

        // Other addresses are not held up.
        Assert.Equal(HttpStatusCode.OK, (await site.SendAsync(HttpMethod.Get, "devices", site.ReadToken)).Status);
    }

    [Fact]
    public async Task The_first_start_made_the_admin_account_whose_password_works_and_is_only_in_a_0600_file()
    {
        var file = Path.Combine(site.Cli.DataFolder, "initial-admin-password");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var password = (await File.ReadAllTextAsync(file)).Trim();
        Assert.True(password.Length >= 20);
        Assert.DoesNotContain(password, site.Server.Output, StringComparison.Ordinal);
        Assert.Contains(file, site.Server.Output, StringComparison.Ordinal);

        var basic = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u", $"admin:{password}", $"{site.Base}/api/v1/tokens"]);
        Assert.Equal("200", basic.Stdout);
        var wrong = await ProcessRunner.RunAsync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", "127.0.0.8", "-u", "admin:not-the-password", $"{site.Base}/api/v1/tokens"]);
        Assert.Equal("401", wrong.Stdout);
    }
}
