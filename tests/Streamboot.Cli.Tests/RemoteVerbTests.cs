using System.Text.Json;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// Every verb group run from elsewhere (<c>--server</c>, a token in the
/// environment) against a real server over real HTTP, each result checked
/// against the server's own site through the local verbs: what the remote
/// verb did is in the database, and <c>--json</c> prints the same either way.
/// </summary>
[Collection(RemoteSiteCollection.Name)]
public sealed class RemoteVerbTests(RemoteSite site)
{
    [Fact]
    public async Task Collections_devices_and_assignments_made_remotely_are_what_the_server_holds()
    {
        var collection = await site.AdminJsonAsync("collection", "add", "lab", "--pattern", "LAB-###", "--policy", "auto-register", "--default-vdisk", "gold");
        Assert.Equal("auto-register", collection.GetProperty("unknownDevicePolicy").GetString());
        var added = await site.AdminAsync("device", "add", "52-54-00-0a-00-01", "--collection", "lab");
        Assert.Contains("Added device LAB-001", added.Stdout, StringComparison.Ordinal);
        Assert.Contains("gold (default)", added.Stdout, StringComparison.Ordinal);
        await site.AdminAsync("device", "set", "LAB-001", "--description", "bench 3", "--type", "test");

        // The server's database, read here by the local verb, holds it; and --json is the same text either way.
        var local = await site.Local.OkAsync("device", "show", "LAB-001", "--json");
        var remote = await site.RemoteAsync(site.ReadToken, ["device", "show", "52:54:00:0a:00:01", "--json"]);
        Assert.True(remote.ExitCode == 0, remote.ToString());
        Assert.Equal(local.Stdout, remote.Stdout);
        var device = JsonDocument.Parse(local.Stdout).RootElement;
        Assert.Equal(("bench 3", "test", "lab"), (device.GetProperty("description").GetString(), device.GetProperty("type").GetString(), device.GetProperty("collection").GetString()));

        await site.Local.OkAsync("vdisk", "create", "tools", "--size", "1M");
        var assigned = await site.AdminAsync("assign", "LAB-001", "tools", "--default");
        Assert.Contains("Assigned tools to LAB-001", assigned.Stdout, StringComparison.Ordinal);
        var assignments = (await site.Local.JsonAsync("device", "show", "LAB-001")).GetProperty("assignments").EnumerateArray()
            .Select(a => (a.GetProperty("vdisk").GetString(), a.GetProperty("isDefault").GetBoolean())).ToList();
        Assert.Equal([("gold", false), ("tools", true)], assignments);
        await site.AdminAsync("unassign", "LAB-001", "tools");
        Assert.Single((await site.Local.JsonAsync("device", "show", "LAB-001")).GetProperty("assignments").EnumerateArray());

        var table = await site.RemoteAsync(site.ReadToken, ["device", "list", "--collection", "lab"]);
        Assert.Contains("LAB-001", table.Stdout, StringComparison.Ordinal);
        await site.AdminAsync("collection", "set", "lab", "--description", "room 4");
        Assert.Equal("room 4", (await site.Local.JsonAsync("collection", "show", "lab")).GetProperty("description").GetString());
        Assert.Contains("lab", (await site.RemoteAsync(site.ReadToken, ["collection", "list"])).Stdout, StringComparison.Ordinal);

        await site.AdminAsync("device", "delete", "LAB-001");
        Assert.Empty((await site.Local.JsonAsync("device", "list", "--collection", "lab")).EnumerateArray());
        await site.AdminAsync("collection", "delete", "lab");
        Assert.Equal(1, (await site.Local.RunAsync("collection", "show", "lab")).ExitCode);
        await site.AdminAsync("vdisk", "delete", "tools");

        // The audit log names the token the changes came through.
        var audit = await site.Local.JsonAsync("audit", "list", "--limit", "20");
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("action").GetString() == "device.add" && e.GetProperty("actor").GetString() == "token:ci");
    }

    [Fact]
    public async Task A_vDisk_and_its_versions_are_made_changed_merged_and_deleted_remotely()
    {
        var created = await site.AdminAsync("vdisk", "create", "silver", "--size", "8M", "--format", "qcow2", "--description", "made remotely");
        Assert.Contains("Created vDisk silver (8 MiB qcow2, sparse)", created.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(site.Local.DataFolder, "vdisks", "silver", "silver.1.qcow2")));
        await site.AdminAsync("vdisk", "set", "silver", "--anonymous-reads", "false", "--write-cache", "server-ram");
        var shown = await site.Local.JsonAsync("vdisk", "show", "silver");
        Assert.Equal((false, "server-ram"), (shown.GetProperty("anonymousReads").GetBoolean(), shown.GetProperty("writeCacheMode").GetString()));

        await site.AdminAsync("vdisk", "version", "new", "silver");
        await site.AdminAsync("vdisk", "version", "promote", "silver", "--to", "production");
        await site.AdminAsync("vdisk", "version", "new", "silver");
        await site.AdminAsync("vdisk", "version", "rollback", "silver");
        var versions = (await site.Local.JsonAsync("vdisk", "show", "silver")).GetProperty("versions").EnumerateArray()
            .Select(v => (v.GetProperty("number").GetInt32(), v.GetProperty("stage").GetString())).ToList();
        Assert.Equal([(1, "production"), (2, "production")], versions);

        // Merge runs as an operation at the server, polled to its end.
        var merged = await site.AdminAsync("vdisk", "version", "merge", "silver");
        Assert.Contains("Merged silver into version 3", merged.Stdout, StringComparison.Ordinal);
        await site.AdminAsync("vdisk", "version", "prune", "silver");
        var after = await site.Local.OkAsync("vdisk", "show", "silver", "--json");
        Assert.Equal([3], JsonDocument.Parse(after.Stdout).RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("number").GetInt32()));
        Assert.Equal(after.Stdout, (await site.RemoteAsync(site.ReadToken, ["vdisk", "show", "silver", "--json"])).Stdout);

        var replicas = await site.RemoteAsync(site.ReadToken, ["vdisk", "replicas", "silver"]);
        Assert.Contains("(shared store)", replicas.Stdout, StringComparison.Ordinal);
        Assert.Equal((await site.Local.OkAsync("vdisk", "list", "--json")).Stdout, (await site.RemoteAsync(site.ReadToken, ["vdisk", "list", "--json"])).Stdout);

        var deleted = await site.AdminAsync("vdisk", "delete", "silver");
        Assert.Contains("Deleted vDisk silver", deleted.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(site.Local.DataFolder, "vdisks", "silver")));
    }

    [Fact]
    public async Task An_import_of_a_file_on_the_server_runs_as_an_operation_whose_progress_the_bar_shows()
    {
        using var files = new TempFolder("streamboot-remote-import", site.ImportFolder);
        var image = Path.Combine(files.Path, "disk.raw");
        Assert.Equal(0, (await ProcessRunner.RunAsync("qemu-img", ["create", "-f", "raw", image, "48M"])).ExitCode);
        await using (var stream = new FileStream(image, FileMode.Open, FileAccess.Write))
        {
            var pattern = Enumerable.Range(0, 4 << 20).Select(i => (byte)(i * 13)).ToArray();
            stream.Position = 5 << 20;
            await stream.WriteAsync(pattern);
            stream.Position = 40 << 20;
            await stream.WriteAsync(pattern);
        }

        // In a terminal (script(1) gives it one), the bar is drawn from the operation's bytes as the server reports them.
        var command = $"{Repository.Launcher} --server {site.Url} vdisk import imported {image} --description 'from afar'";
        var run = await ProcessRunner.RunAsync("script", ["-qefc", command, "/dev/null"], new Dictionary<string, string?>
        {
            ["STREAMBOOT_TOKEN"] = site.AdminToken,
            ["STREAMBOOT_DATA"] = null,
            ["STREAMBOOT_DB"] = null,
            ["COLUMNS"] = "400",
            ["TERM"] = "xterm",
        });
        Assert.True(run.ExitCode == 0, run.ToString());
        var screen = Regex.Replace(run.Stdout, @"\x1b\[[0-9;?]*[A-Za-z=>]|\x1b[=>]|\r", "");
        Assert.Contains("Importing disk.raw", screen, StringComparison.Ordinal);
        Assert.Matches(@"100% +48\.0 MiB", screen);
        Assert.Contains($"Imported {image} as vDisk imported (48 MiB qcow2)", screen, StringComparison.Ordinal);

        var vdisk = await site.Local.JsonAsync("vdisk", "show", "imported");
        Assert.Equal(48L << 20, vdisk.GetProperty("sizeBytes").GetInt64());
        Assert.Equal("from afar", vdisk.GetProperty("description").GetString());
        var stored = Path.Combine(site.Local.DataFolder, "vdisks", "imported", "imported.1.qcow2");
        var same = await ProcessRunner.RunAsync("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", image, stored]);
        Assert.True(same.ExitCode == 0, same.ToString());
        Assert.Contains((await site.Local.JsonAsync("audit", "list", "--limit", "5")).EnumerateArray(), e =>
            e.GetProperty("action").GetString() == "vdisk.import" && e.GetProperty("actor").GetString() == "token:ci");
        await site.AdminAsync("vdisk", "delete", "imported");

        // A path of the admin's own machine is not the server's: the message says where the file must be.
        var missing = await site.RemoteAsync(site.AdminToken, ["vdisk", "import", "elsewhere", Path.Combine(files.Path, "not-here.vmdk")]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no file", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains($"on the server {site.Url}", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("DATA/import", missing.Stderr, StringComparison.Ordinal);
        var relative = await site.RemoteAsync(site.AdminToken, ["vdisk", "import", "elsewhere", "disk.vmdk"]);
        Assert.Equal(2, relative.ExitCode);
        Assert.Contains("is relative; give the absolute path of the image on the server", relative.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_boot_issued_remotely_opens_the_devices_disk_over_NBD_and_its_session_is_listed_either_way()
    {
        var view = (await site.AdminAsync("session", "key", "pc1")).Stdout.Trim();
        Assert.Matches("^gold/pc1/[A-Za-z0-9_-]+$", view);
        var nbdinfo = ProcessRunner.Find("nbdinfo") ?? throw new InvalidOperationException("nbdinfo is not installed: install Debian's 'libnbd-bin' package (./test.sh installs it)");
        var opened = await ProcessRunner.RunAsync(nbdinfo, [$"nbd://127.0.0.1:{site.NbdPort}/{view.Replace("/", "%2F", StringComparison.Ordinal)}"]);
        Assert.True(opened.ExitCode == 0, opened.ToString());

        var remote = await site.RemoteAsync(site.ReadToken, ["session", "list", "--all", "--json"]);
        Assert.True(remote.ExitCode == 0, remote.ToString());
        Assert.Contains(JsonDocument.Parse(remote.Stdout).RootElement.EnumerateArray(), s => s.GetProperty("device").GetString() == "pc1" && s.GetProperty("vDisk").GetString() == "gold");
        Assert.Equal((await site.Local.OkAsync("session", "list", "--all", "--json")).Stdout, remote.Stdout);
        Assert.Contains((await site.Local.JsonAsync("audit", "list", "--limit", "10")).EnumerateArray(), e =>
            e.GetProperty("action").GetString() == "session.key" && e.GetProperty("actor").GetString() == "token:ci");
    }

    [Fact]
    public async Task Servers_leases_and_the_site_are_read_and_changed_remotely()
    {
        var servers = await site.AdminJsonAsync("server", "list");
        var name = Assert.Single(servers.EnumerateArray()).GetProperty("name").GetString()!;
        Assert.Equal("running", servers[0].GetProperty("state").GetString());

        await site.AdminAsync("server", "drain", name);
        Assert.False((await site.Local.JsonAsync("server", "list"))[0].GetProperty("enabled").GetBoolean());
        await site.AdminAsync("server", "enable", name);
        await site.AdminAsync("server", "set", name, "--weight", "3");
        var local = (await site.Local.JsonAsync("server", "list"))[0];
        Assert.Equal((true, 3), (local.GetProperty("enabled").GetBoolean(), local.GetProperty("weight").GetInt32()));
        await site.AdminAsync("server", "set", name, "--weight", "1");

        // The server refuses to forget itself while it runs, in the words the local verb uses.
        var remove = await site.RemoteAsync(site.AdminToken, ["server", "remove", name]);
        Assert.Equal(1, remove.ExitCode);
        Assert.StartsWith($"streamboot: server '{name}' is running", remove.Stderr, StringComparison.Ordinal);
        var plan = await site.AdminAsync("server", "rebalance", "--dry-run");
        Assert.Contains("Nothing moves: fewer than two running servers take new boots", plan.Stdout, StringComparison.Ordinal);
        Assert.Empty((await site.AdminJsonAsync("server", "rebalance")).GetProperty("moves").EnumerateArray());
        var drainUnknown = await site.RemoteAsync(site.AdminToken, ["server", "drain", "nope", "--move"]);
        Assert.Equal((1, (await site.Local.RunAsync("server", "drain", "nope", "--move")).Stderr), (drainUnknown.ExitCode, drainUnknown.Stderr));

        var leases = await site.RemoteAsync(site.ReadToken, ["dhcp", "leases"]);
        Assert.Equal((await site.Local.OkAsync("dhcp", "leases")).Stdout, leases.Stdout);

        var info = await site.RemoteAsync(site.ReadToken, ["site", "info", "--json"]);
        Assert.Equal((await site.Local.OkAsync("site", "info", "--json")).Stdout, info.Stdout);
        Assert.Equal("shared", JsonDocument.Parse(info.Stdout).RootElement.GetProperty("store").GetString());
        Assert.Equal("shared", (await site.AdminJsonAsync("site", "set", "--store", "shared")).GetProperty("store").GetString());
        var audit = await site.RemoteAsync(site.ReadToken, ["audit", "list", "--limit", "3", "--json"]);
        Assert.Equal("site.set", JsonDocument.Parse(audit.Stdout).RootElement[0].GetProperty("action").GetString());
    }

    [Fact]
    public async Task Tokens_are_made_listed_and_revoked_remotely_and_an_admin_account_may_do_it_too()
    {
        var made = await site.AdminAsync("token", "create", "laptop", "--scope", "read");
        var secret = made.Stdout.Trim();
        Assert.Matches("^sbt_[A-Za-z0-9_-]{43}$", secret);
        Assert.Contains((await site.Local.JsonAsync("token", "list")).EnumerateArray(), t => t.GetProperty("name").GetString() == "laptop");
        Assert.Equal(0, (await site.RemoteAsync(secret, ["device", "list"])).ExitCode);

        var account = new Dictionary<string, string?> { ["STREAMBOOT_USER"] = "admin", ["STREAMBOOT_PASSWORD"] = RemoteSite.AdminPassword };
        var listed = await site.RemoteAsync(null, ["token", "list"], account);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("laptop", listed.Stdout, StringComparison.Ordinal);
        await site.AdminAsync("token", "revoke", "laptop");

        var revoked = await site.RemoteAsync(secret, ["device", "list"]);
        Assert.Equal(1, revoked.ExitCode);
        Assert.Contains("refused STREAMBOOT_TOKEN: it is wrong, revoked or of another site", revoked.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, revoked.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_VM_is_made_started_watched_stopped_and_deleted_remotely()
    {
        var created = await site.AdminAsync("vm", "create", "tiny", "--disk-size", "64M", "--memory", "128", "--network", "none");
        Assert.Contains("Created VM tiny", created.Stdout, StringComparison.Ordinal);
        var local = await site.Local.OkAsync("vm", "show", "tiny", "--json");
        Assert.Equal(local.Stdout, (await site.RemoteAsync(site.AdminToken, ["vm", "show", "tiny", "--json"])).Stdout);
        Assert.Equal(128, JsonDocument.Parse(local.Stdout).RootElement.GetProperty("memoryMiB").GetInt32());

        // Its console is the server's; the wait polls its log through the API.
        var started = await site.AdminAsync("vm", "start", "tiny", "--accel", "tcg", "--wait-for", "SeaBIOS", "--timeout", "120");
        Assert.Contains("The console shows 'SeaBIOS'.", started.Stdout, StringComparison.Ordinal);
        Assert.Equal("running", (await site.Local.JsonAsync("vm", "show", "tiny")).GetProperty("state").GetString());

        // Snapshots through /vms/{name}/snapshots: with the memory while it runs.
        var taken = await site.AdminJsonAsync("vm", "snapshot", "tiny", "take", "live");
        Assert.True(taken.GetProperty("memory").GetBoolean());
        Assert.Equal("live", (await site.AdminJsonAsync("vm", "snapshot", "tiny", "list")).EnumerateArray().Single().GetProperty("name").GetString());
        var twice = await site.RemoteAsync(site.AdminToken, ["vm", "snapshot", "tiny", "take", "live"]);
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("has a snapshot 'live' already", twice.Stderr, StringComparison.Ordinal);
        var stopped = await site.AdminJsonAsync("vm", "stop", "tiny", "--hard");
        Assert.Equal(("tiny", "stopped"), (stopped.GetProperty("name").GetString(), stopped.GetProperty("outcome").GetString()));
        Assert.Equal("stopped", (await site.Local.JsonAsync("vm", "show", "tiny")).GetProperty("state").GetString());

        var reverted = await site.AdminAsync("vm", "snapshot", "tiny", "revert", "live");
        Assert.Contains("note: the VM is stopped: its disk is as it was in the snapshot", reverted.Stderr, StringComparison.Ordinal);
        await site.AdminAsync("vm", "snapshot", "tiny", "delete", "live");
        Assert.Empty((await site.Local.JsonAsync("vm", "snapshot", "tiny", "list")).EnumerateArray());
        await site.AdminAsync("vm", "delete", "tiny");
        Assert.Empty((await site.Local.JsonAsync("vm", "list")).EnumerateArray());
    }
}
