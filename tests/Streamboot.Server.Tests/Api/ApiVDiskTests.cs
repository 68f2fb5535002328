using System.Net;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Api;

/// <summary>
/// The vDisk verbs of the admin API against a real <c>streamboot serve</c>:
/// create, delete, import and merge (operations polled to the end), prune,
/// replicas; each checked against the command line's view of the same site,
/// and each mistake against the command line's own message for it.
/// </summary>
public sealed class ApiVDiskTests(ApiSite site) : IClassFixture<ApiSite>
{
    [Fact]
    public async Task Create_makes_the_vDisk_the_command_line_shows_and_refuses_what_it_refuses()
    {
        var (status, made, _) = await site.SendAsync(HttpMethod.Post, "vdisks", site.AdminToken, new { name = "silver", size = "32M", format = "qcow2", description = "from the API" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("silver", made.GetProperty("name").GetString());
        var shown = await site.Cli.JsonAsync("vdisk", "show", "silver");
        Assert.Equal(32L << 20, shown.GetProperty("sizeBytes").GetInt64());
        Assert.Equal("qcow2", shown.GetProperty("format").GetString());
        Assert.Equal("from the API", shown.GetProperty("description").GetString());

        await SameMistakeAsync(["vdisk", "create", "bad name!", "--size", "32M"], "vdisks", new { name = "bad name!", size = "32M" }, HttpStatusCode.BadRequest);
        await SameMistakeAsync(["vdisk", "create", "tiny", "--size", "4K"], "vdisks", new { name = "tiny", size = "4K" }, HttpStatusCode.BadRequest);
        await SameMistakeAsync(["vdisk", "create", "SILVER", "--size", "32M"], "vdisks", new { name = "SILVER", size = "32M" }, HttpStatusCode.Conflict);

        // The size is parsed as the command line parses --size: the same reason, named after the field.
        var cli = await site.Cli.RunAsync("vdisk", "create", "odd", "--size", "12Q");
        Assert.Equal(2, cli.ExitCode);
        (status, var problem, _) = await site.SendAsync(HttpMethod.Post, "vdisks", site.AdminToken, new { name = "odd", size = "12Q" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.StartsWith("size: ", detail, StringComparison.Ordinal);
        Assert.Contains("--" + detail, cli.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_is_refused_while_assigned_and_with_force_and_keep_files_says_what_it_changed()
    {
        await site.Cli.OkAsync("vdisk", "create", "bronze", "--size", "8M");
        await site.Cli.OkAsync("device", "add", "52:54:00:0d:0d:01", "--name", "DEL-01");
        await site.Cli.OkAsync("assign", "DEL-01", "bronze");
        var folder = Path.Combine(site.Cli.DataFolder, (await site.Cli.JsonAsync("vdisk", "show", "bronze")).GetProperty("storePath").GetString()!);

        await SameMistakeAsync(["vdisk", "delete", "bronze"], "vdisks/bronze", null, HttpStatusCode.Conflict, HttpMethod.Delete);
        await SameMistakeAsync(["vdisk", "delete", "nosuch"], "vdisks/nosuch", null, HttpStatusCode.NotFound, HttpMethod.Delete);

        var (status, deleted, _) = await site.SendAsync(HttpMethod.Delete, "vdisks/bronze?force=true&keepFiles=true", site.AdminToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(deleted.GetProperty("keptImages").GetBoolean());
        Assert.Equal(new[] { "DEL-01" }, deleted.GetProperty("unassignedDevices").EnumerateArray().Select(d => d.GetString()).ToArray());
        Assert.Equal(1, (await site.Cli.RunAsync("vdisk", "show", "bronze")).ExitCode);
        Assert.Empty((await site.Cli.JsonAsync("device", "show", "DEL-01")).GetProperty("assignments").EnumerateArray());
        Assert.True(File.Exists(Path.Combine(folder, "bronze.1.raw")), "keepFiles leaves the image");
    }

    [Fact]
    public async Task Import_is_an_operation_polled_to_its_end_whose_vDisk_holds_the_image_and_whose_audit_names_the_token()
    {
        using var files = new TempFolder("streamboot-import", site.ImportFolder);
        var image = Path.Combine(files.Path, "disk.raw");
        await ProcessRunner.RunAsync("qemu-img", ["create", "-f", "raw", image, "24M"]);
        await using (var stream = new FileStream(image, FileMode.Open, FileAccess.Write))
        {
            var pattern = Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 7)).ToArray();
            stream.Position = 3 << 20;
            await stream.WriteAsync(pattern);
            stream.Position = 20 << 20;
            await stream.WriteAsync(pattern);
        }

        // curl sees the 202 and where to poll.
        var curl = await ProcessRunner.RunAsync("curl", [
            "-sS", "-o", "/dev/null", "-w", "%{http_code} %header{location}", "-X", "POST", "-H", $"Authorization: Bearer {site.AdminToken}", "-H", "Content-Type: application/json",
            "--data", JsonSerializer.Serialize(new { name = "imported", path = image, description = "via curl" }), $"{site.Base}/api/v1/vdisks/import",
        ]);
        var parts = curl.Stdout.Split(' ');
        Assert.Equal("202", parts[0]);
        Assert.Matches("^/api/v1/operations/[0-9a-f]{32}$", parts[1]);

        var operation = await site.WaitForOperationAsync(parts[1]);
        Assert.Equal("succeeded", operation.GetProperty("state").GetString());
        Assert.Equal("vdisk.import", operation.GetProperty("kind").GetString());
        Assert.Equal("token:ci", operation.GetProperty("actor").GetString());
        Assert.Equal(24L << 20, operation.GetProperty("totalBytes").GetInt64());
        Assert.Equal(24L << 20, operation.GetProperty("doneBytes").GetInt64());
        Assert.Equal("/api/v1/vdisks/imported", operation.GetProperty("resource").GetString());
        Assert.Equal("imported", operation.GetProperty("result").GetProperty("name").GetString());

        var shown = await site.Cli.JsonAsync("vdisk", "show", "imported");
        Assert.Equal(24L << 20, shown.GetProperty("sizeBytes").GetInt64());
        var stored = Path.Combine(site.Cli.DataFolder, shown.GetProperty("storePath").GetString()!, shown.GetProperty("versions")[0].GetProperty("file").GetString()!);
        var compare = await ProcessRunner.RunAsync("qemu-img", ["compare", "-f", "raw", image, stored]);
        Assert.True(compare.ExitCode == 0, compare.Stdout + compare.Stderr);

        var (_, audit, _) = await site.SendAsync(HttpMethod.Get, "audit?limit=100", site.ReadToken);
        Assert.Contains(audit.EnumerateArray(), e =>
            e.GetProperty("action").GetString() == "vdisk.import" && e.GetProperty("target").GetString() == "imported" && e.GetProperty("actor").GetString() == "token:ci");
    }

    [Fact]
    public async Task An_import_the_Admin_layer_refuses_is_answered_at_once_with_the_command_lines_message()
    {
        using var files = new TempFolder("streamboot-import", site.ImportFolder);
        var text = Path.Combine(files.Path, "notes.txt");
        await File.WriteAllTextAsync(text, "not a disk\n");
        var good = Path.Combine(files.Path, "good.raw");
        await ProcessRunner.RunAsync("qemu-img", ["create", "-f", "raw", good, "2M"]);

        await SameMistakeAsync(["vdisk", "import", "notes", text], "vdisks/import", new { name = "notes", path = text }, HttpStatusCode.BadRequest);
        await SameMistakeAsync(["vdisk", "import", "ghost", "/nonexistent/disk.raw"], "vdisks/import", new { name = "ghost", path = "/nonexistent/disk.raw" }, HttpStatusCode.NotFound);
        await SameMistakeAsync(["vdisk", "import", "gold", good], "vdisks/import", new { name = "gold", path = good }, HttpStatusCode.Conflict);
        await SameMistakeAsync(["vdisk", "import", "bad/name", good], "vdisks/import", new { name = "bad/name", path = good }, HttpStatusCode.BadRequest);

        // What only a remote caller can get wrong: the path is the server's, a regular file.
        Assert.Contains("is relative", await ProblemAsync(new { name = "rel", path = "disk.raw" }), StringComparison.Ordinal);
        Assert.Contains("is a folder", await ProblemAsync(new { name = "dir", path = files.Path }), StringComparison.Ordinal);
        Assert.Contains("not a regular file", await ProblemAsync(new { name = "zero", path = "/dev/zero" }), StringComparison.Ordinal);
        Assert.Contains("absolute path", await ProblemAsync(new { name = "none" }), StringComparison.Ordinal);
        foreach (var name in new[] { "notes", "ghost", "rel", "dir", "zero", "none" })
        {
            Assert.Equal(1, (await site.Cli.RunAsync("vdisk", "show", name)).ExitCode);
        }

        async Task<string> ProblemAsync(object body)
        {
            var (status, problem, _) = await site.SendAsync(HttpMethod.Post, "vdisks/import", site.AdminToken, body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            return problem.GetProperty("detail").GetString()!;
        }
    }

    [Fact]
    public async Task Merge_is_an_operation_that_leaves_one_base_version_and_prune_answers_at_once()
    {
        await site.Cli.OkAsync("vdisk", "create", "chain", "--size", "8M", "--format", "qcow2");
        await SameMistakeAsync(["vdisk", "version", "merge", "chain"], "vdisks/chain/merge", null, HttpStatusCode.Conflict);
        await site.Cli.OkAsync("vdisk", "version", "new", "chain");
        await SameMistakeAsync(["vdisk", "version", "merge", "chain"], "vdisks/chain/merge", null, HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.OK, (await site.SendAsync(HttpMethod.Post, "vdisks/chain/promote", site.AdminToken, new { to = "production" })).Status);

        var (status, accepted, response) = await site.SendAsync(HttpMethod.Post, "vdisks/chain/merge", site.AdminToken);
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(accepted.GetProperty("id").GetString(), response.Headers.Location!.OriginalString.Split('/')[^1]);
        var operation = await site.WaitForOperationAsync(response.Headers.Location.OriginalString);
        Assert.Equal("succeeded", operation.GetProperty("state").GetString());
        Assert.Equal(8L << 20, operation.GetProperty("totalBytes").GetInt64());

        var versions = (await site.Cli.JsonAsync("vdisk", "show", "chain")).GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("number").GetInt32()).ToList();
        Assert.Equal(new[] { 3 }, versions);

        var (pruned, view, _) = await site.SendAsync(HttpMethod.Post, "vdisks/chain/prune", site.AdminToken);
        Assert.Equal(HttpStatusCode.OK, pruned);
        Assert.Single(view.GetProperty("versions").EnumerateArray());
        await SameMistakeAsync(["vdisk", "version", "prune", "nosuch"], "vdisks/nosuch/prune", null, HttpStatusCode.NotFound);

        var (replicas, shown, _) = await site.SendAsync(HttpMethod.Get, "vdisks/chain/replicas", site.ReadToken);
        Assert.Equal(HttpStatusCode.OK, replicas);
        var cli = await site.Cli.JsonAsync("vdisk", "replicas", "chain");
        Assert.Equal(cli.GetProperty("store").GetString(), shown.GetProperty("store").GetString());
        Assert.Equal(
            cli.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("number").GetInt32()).ToArray(),
            shown.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("number").GetInt32()).ToArray());
    }

    [Fact]
    public async Task Concurrent_imports_of_one_name_run_once_and_the_other_hears_conflict()
    {
        using var files = new TempFolder("streamboot-import", site.ImportFolder);
        var image = Path.Combine(files.Path, "disk.raw");
        await ProcessRunner.RunAsync("qemu-img", ["create", "-f", "raw", image, "4M"]);
        var sends = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => site.SendAsync(HttpMethod.Post, "vdisks/import", site.AdminToken, new { name = "twice", path = image })));
        var accepted = Assert.Single(sends, s => s.Status == HttpStatusCode.Accepted);
        Assert.All(sends.Where(s => s.Status != HttpStatusCode.Accepted), s => Assert.Equal(HttpStatusCode.Conflict, s.Status));
        Assert.Equal("succeeded", (await site.WaitForOperationAsync(accepted.Response.Headers.Location!.OriginalString)).GetProperty("state").GetString());
        Assert.Single((await site.Cli.JsonAsync("vdisk", "list")).EnumerateArray(), v => v.GetProperty("name").GetString() == "twice");
    }

    /// <summary>The command line fails with a message; the API answers the same mistake with that message as the problem's detail.</summary>
    private async Task SameMistakeAsync(string[] cli, string path, object? body, HttpStatusCode expected, HttpMethod? method = null)
    {
        var run = await site.Cli.RunAsync(cli);
        Assert.NotEqual(0, run.ExitCode);
        var (status, problem, response) = await site.SendAsync(method ?? HttpMethod.Post, path, site.AdminToken, body);
        Assert.Equal(expected, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Equal($"streamboot: {detail}", run.Stderr.Trim());
    }

    [Fact]
    public async Task An_import_reads_only_from_the_import_folders_not_the_sites_own_secrets()
    {
        // The server's user can read these; an admin token must not turn them into a vDisk readable over NBD.
        var secrets = new[] { Path.Combine(site.Cli.DataFolder, "streamboot.db"), Path.Combine(site.Cli.DataFolder, "tls", "server-key.pem") };
        foreach (var secret in secrets)
        {
            Assert.True(File.Exists(secret), secret);
            var (status, problem, _) = await site.SendAsync(HttpMethod.Post, "vdisks/import", site.AdminToken, new { name = "stolen", path = secret, sourceFormat = "raw" });
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Contains("is not in an import folder", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // Nor through a link, or "..", from inside the allowed folder.
        using var files = new TempFolder("streamboot-import", site.ImportFolder);
        var link = Path.Combine(files.Path, "db.raw");
        File.CreateSymbolicLink(link, secrets[0]);
        var sneaky = Path.Combine(files.Path, "..", "..", Path.GetFileName(site.Cli.DataFolder), "streamboot.db");
        foreach (var path in new[] { link, sneaky })
        {
            Assert.Equal(HttpStatusCode.Conflict, (await site.SendAsync(HttpMethod.Post, "vdisks/import", site.AdminToken, new { name = "stolen", path, sourceFormat = "raw" })).Status);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await site.SendAsync(HttpMethod.Get, "vdisks/stolen", site.ReadToken)).Status);
    }
}
