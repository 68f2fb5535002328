using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Api;

/// <summary>
/// The API's boots, servers, site, VMs and its OpenAPI document, against a
/// real <c>streamboot serve</c>, checked against the command line's view.
/// </summary>
public sealed class ApiSiteTests(ApiSite site) : IClassFixture<ApiSite>
{
    [Fact]
    public async Task A_boot_issued_by_the_API_opens_the_devices_disk_over_NBD_and_the_audit_log_names_the_token_not_the_key()
    {
        await site.Cli.OkAsync("device", "add", "52:54:00:0e:0e:01", "--name", "KEY-01");
        await site.Cli.OkAsync("assign", "KEY-01", "gold");
        var (status, boot, _) = await site.SendAsync(HttpMethod.Post, "devices/KEY-01/boots", site.AdminToken);
        Assert.Equal(HttpStatusCode.Created, status);
        var key = boot.GetProperty("key").GetString()!;
        Assert.Equal($"gold/KEY-01/{key}", boot.GetProperty("view").GetString());
        Assert.Equal(1, boot.GetProperty("version").GetInt32());

        var info = await ProcessRunner.RunAsync("nbdinfo", ["--size", $"nbd://127.0.0.1:{site.NbdPort}/{Uri.EscapeDataString(boot.GetProperty("view").GetString()!)}"]);
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Equal((16L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), info.Stdout.Trim());

        var (_, audit, _) = await site.SendAsync(HttpMethod.Get, "audit?limit=100", site.ReadToken);
        var entry = Assert.Single(audit.EnumerateArray(), e => e.GetProperty("action").GetString() == "session.key" && e.GetProperty("target").GetString() == "KEY-01");
        Assert.Equal("token:ci", entry.GetProperty("actor").GetString());
        Assert.DoesNotContain(key, audit.GetRawText(), StringComparison.Ordinal);

        // Two vDisks: the command line's message, which names the choice.
        await site.Cli.OkAsync("vdisk", "create", "second", "--size", "8M");
        await site.Cli.OkAsync("assign", "KEY-01", "second");
        var cli = await site.Cli.RunAsync("session", "key", "KEY-01");
        Assert.Equal(2, cli.ExitCode);
        (status, var problem, _) = await site.SendAsync(HttpMethod.Post, "devices/KEY-01/boots", site.AdminToken);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal($"streamboot: {problem.GetProperty("detail").GetString()}", cli.Stderr.Trim());
        (status, boot, _) = await site.SendAsync(HttpMethod.Post, "devices/KEY-01/boots", site.AdminToken, new { vdisk = "second" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("second", boot.GetProperty("vdisk").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await site.SendAsync(HttpMethod.Post, "devices/NOPE-9/boots", site.AdminToken)).Status);
    }

    [Fact]
    public async Task Server_weight_remove_and_rebalance_go_through_the_command_lines_rules()
    {
        var name = (await site.Cli.JsonAsync("server", "list"))[0].GetProperty("name").GetString()!;
        var (status, _, _) = await site.SendAsync(HttpMethod.Patch, $"servers/{name}", site.AdminToken, new { weight = 3 });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, (await site.Cli.JsonAsync("server", "list"))[0].GetProperty("weight").GetInt32());

        await SameMistakeAsync(["server", "set", name, "--weight", "0"], HttpMethod.Patch, $"servers/{name}", new { weight = 0 }, HttpStatusCode.BadRequest);
        await SameMistakeAsync(["server", "remove", name], HttpMethod.Delete, $"servers/{name}", null, HttpStatusCode.Conflict);
        await SameMistakeAsync(["server", "set", "nosuch", "--weight", "2"], HttpMethod.Patch, "servers/nosuch", new { weight = 2 }, HttpStatusCode.NotFound);

        var (rebalanced, plan, _) = await site.SendAsync(HttpMethod.Post, "servers/rebalance?dryRun=true", site.AdminToken);
        Assert.Equal(HttpStatusCode.OK, rebalanced);
        Assert.True(plan.GetProperty("dryRun").GetBoolean());
        Assert.Contains(plan.GetProperty("shares").EnumerateArray(), s => s.GetProperty("server").GetString() == name);

        var (_, audit, _) = await site.SendAsync(HttpMethod.Get, "audit?limit=100", site.ReadToken);
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("action").GetString() == "server.set" && e.GetProperty("actor").GetString() == "token:ci");
    }

    [Fact]
    public async Task The_site_reads_as_site_info_does_and_refuses_an_unknown_store()
    {
        var (status, info, _) = await site.SendAsync(HttpMethod.Get, "site", site.ReadToken);
        Assert.Equal(HttpStatusCode.OK, status);
        var cli = await site.Cli.JsonAsync("site", "info");
        Assert.Equal(cli.GetProperty("store").GetString(), info.GetProperty("store").GetString());
        Assert.Equal(cli.GetProperty("schemaVersion").GetInt32(), info.GetProperty("schemaVersion").GetInt32());
        await SameMistakeAsync(["site", "set", "--store", "cloud"], HttpMethod.Patch, "site", new { store = "cloud" }, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task VMs_are_made_shown_listed_and_deleted_as_vm_create_does_and_only_with_an_admin_token()
    {
        var (status, vm, _) = await site.SendAsync(HttpMethod.Post, "vms", site.AdminToken, new { name = "lab-vm", network = "none", memory = "512", diskSize = "16M" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("lab-vm", vm.GetProperty("name").GetString());
        var shown = await site.Cli.JsonAsync("vm", "show", "lab-vm");
        Assert.Equal(512, shown.GetProperty("memoryMiB").GetInt32());
        Assert.Equal(16L << 20, shown.GetProperty("diskSizeBytes").GetInt64());
        Assert.Equal("stopped", shown.GetProperty("state").GetString());
        Assert.True(File.Exists(shown.GetProperty("diskFile").GetString()), "the disk was written");

        var (_, list, _) = await site.SendAsync(HttpMethod.Get, "vms", site.AdminToken);
        Assert.Contains(list.EnumerateArray(), v => v.GetProperty("name").GetString() == "lab-vm");
        Assert.Equal(HttpStatusCode.Forbidden, (await site.SendAsync(HttpMethod.Get, "vms/lab-vm", site.ReadToken)).Status);
        Assert.Equal(HttpStatusCode.OK, (await site.SendAsync(HttpMethod.Get, "vms/lab-vm/console", site.AdminToken)).Status);

        await SameMistakeAsync(["vm", "create", "lab-vm2", "--memory", "1.5K", "--no-prompt"], HttpMethod.Post, "vms", new { name = "lab-vm2", memory = "1.5K" }, HttpStatusCode.BadRequest);
        await SameMistakeAsync(["vm", "create", "lab-vm", "--network", "none", "--no-prompt"], HttpMethod.Post, "vms", new { name = "lab-vm", network = "none" }, HttpStatusCode.Conflict);
        await SameMistakeAsync(["vm", "create", "lab-vm3", "--firmware", "coreboot", "--no-prompt"], HttpMethod.Post, "vms", new { name = "lab-vm3", firmware = "coreboot" }, HttpStatusCode.BadRequest);

        // QEMU under plain emulation (no OS on the blank disk: SeaBIOS finds nothing and waits), then pulled out hard.
        (status, var started, _) = await site.SendAsync(HttpMethod.Post, "vms/lab-vm/start", site.AdminToken, new { accel = "tcg" });
        Assert.True(status == HttpStatusCode.OK, started.ToString());
        Assert.Equal("tcg", started.GetProperty("accelerator").GetString());
        Assert.True(started.GetProperty("pid").GetInt32() > 0);
        Assert.Equal("running", (await site.Cli.JsonAsync("vm", "show", "lab-vm")).GetProperty("state").GetString());
        await SameMistakeAsync(["vm", "start", "lab-vm"], HttpMethod.Post, "vms/lab-vm/start", new { }, HttpStatusCode.Conflict);
        await SameMistakeAsync(["vm", "capture", "lab-vm", "--vdisk", "from-vm"], HttpMethod.Post, "vms/lab-vm/capture", new { vdisk = "from-vm" }, HttpStatusCode.Conflict);
        (status, var hard, _) = await site.SendAsync(HttpMethod.Post, "vms/lab-vm/stop?hard=true", site.AdminToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("stopped", hard.GetProperty("outcome").GetString());
        var (_, audit, _) = await site.SendAsync(HttpMethod.Get, "audit?limit=100", site.ReadToken);
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("action").GetString() == "vm.start" && e.GetProperty("actor").GetString() == "token:ci");

        (status, var stop, _) = await site.SendAsync(HttpMethod.Post, "vms/lab-vm/stop", site.AdminToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("not-running", stop.GetProperty("outcome").GetString());

        // Stopped, its disk is captured as a vDisk by an operation.
        (status, _, var response) = await site.SendAsync(HttpMethod.Post, "vms/lab-vm/capture", site.AdminToken, new { vdisk = "from-vm" });
        Assert.Equal(HttpStatusCode.Accepted, status);
        var capture = await site.WaitForOperationAsync(response.Headers.Location!.OriginalString);
        Assert.True(capture.GetProperty("state").GetString() == "succeeded", capture.ToString());
        Assert.Equal("vm.capture", capture.GetProperty("kind").GetString());
        Assert.Equal(16L << 20, (await site.Cli.JsonAsync("vdisk", "show", "from-vm")).GetProperty("sizeBytes").GetInt64());

        (status, _, _) = await site.SendAsync(HttpMethod.Delete, "vms/lab-vm", site.AdminToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, (await site.Cli.RunAsync("vm", "show", "lab-vm")).ExitCode);
        Assert.False(File.Exists(shown.GetProperty("diskFile").GetString()), "delete removes the disk");
    }

    [Fact]
    public async Task The_document_describes_bodies_answers_and_the_bearer_scheme()
    {
        var document = JsonDocument.Parse(await site.Http.GetStringAsync($"{site.Base}/openapi/v1.json")).RootElement;
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        var import = document.GetProperty("paths").GetProperty("/api/v1/vdisks/import").GetProperty("post");
        Assert.True(import.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        foreach (var status in new[] { "202", "400", "401", "403", "404", "409", "429" })
        {
            Assert.True(import.GetProperty("responses").TryGetProperty(status, out _), $"import answers {status}");
        }

        var operation = document.GetProperty("paths").GetProperty("/api/v1/operations/{id}").GetProperty("get");
        Assert.False(operation.GetProperty("responses").TryGetProperty("403", out _), "a read needs no admin scope");
    }

    private async Task SameMistakeAsync(string[] cli, HttpMethod method, string path, object? body, HttpStatusCode expected)
    {
        var run = await site.Cli.RunAsync(cli);
        Assert.NotEqual(0, run.ExitCode);
        var (status, problem, _) = await site.SendAsync(method, path, site.AdminToken, body);
        Assert.Equal(expected, status);
        // A time in the message ("its last heartbeat was 7 s ago") moves between the two asks.
        static string Timeless(string text) => Regex.Replace(text, @"\d+ s ago", "N s ago");
        Assert.Equal(Timeless($"streamboot: {problem.GetProperty("detail").GetString()}"), Timeless(run.Stderr.Trim()));
    }
}
