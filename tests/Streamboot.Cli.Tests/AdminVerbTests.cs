using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>The admin verbs through the real launcher: output for people, JSON for scripts, exit codes.</summary>
public sealed class AdminVerbTests : IDisposable
{
    private readonly StreambootCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Help_lists_the_verbs()
    {
        var result = await _cli.RunBareAsync("--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var verb in new[] { "serve", "vdisk", "device", "collection", "assign", "unassign", "session", "audit", "completion" })
        {
            Assert.Contains(verb, result.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Rebalance_on_a_site_without_a_farm_says_nothing_moves_and_drain_move_of_an_unknown_server_fails_in_one_line()
    {
        await _cli.OkAsync("db", "status");
        var plan = await _cli.OkAsync("server", "rebalance", "--dry-run");
        Assert.Contains("Nothing moves: fewer than two running servers take new boots", plan.Stdout, StringComparison.Ordinal);
        var json = await _cli.JsonAsync("server", "rebalance");
        Assert.Empty(json.GetProperty("moves").EnumerateArray());

        var drain = await _cli.RunAsync("server", "drain", "nope", "--move");
        Assert.Equal(1, drain.ExitCode);
        Assert.Equal("streamboot: there is no server 'nope': no server has run on this database yet", drain.Stderr.Trim());
    }

    [Fact]
    public async Task Rebalancing_settings_out_of_range_stop_serve_with_one_usage_line()
    {
        _cli.Environment["STREAMBOOT_REBALANCE_TRIGGER_PERCENT"] = "-5";
        var result = await _cli.RunAsync("serve", "--bind", "127.0.0.1", "--http-port", Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("rebalancing settings out of range", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_site_is_built_from_the_command_line_and_read_back_as_json()
    {
        await _cli.OkAsync("vdisk", "create", "debian12", "--size", "512M", "--description", "golden image");
        await _cli.OkAsync("vdisk", "create", "tools", "--size", "1G");
        await _cli.OkAsync("collection", "add", "lab", "--pattern", "LAB-###", "--policy", "auto-register", "--default-vdisk", "debian12");
        var added = await _cli.RunAsync("device", "add", "52-54-00-12-34-56", "--collection", "lab");
        Assert.Equal(0, added.ExitCode);
        Assert.Contains("Added device LAB-001", added.Stdout, StringComparison.Ordinal);
        // The collection's default vDisk comes with every new device of it.
        Assert.Contains("debian12 (default)", added.Stdout, StringComparison.Ordinal);
        await _cli.OkAsync("assign", "52:54:00:12:34:56", "tools", "--default");

        var device = await _cli.JsonAsync("device", "show", "525400123456");
        Assert.Equal("LAB-001", device.GetProperty("name").GetString());
        Assert.Equal("52:54:00:12:34:56", device.GetProperty("mac").GetString());
        Assert.Equal("lab", device.GetProperty("collection").GetString());
        Assert.Equal("production", device.GetProperty("type").GetString());
        Assert.True(Guid.TryParse(device.GetProperty("machineId").GetString(), out _));
        var assignments = device.GetProperty("assignments").EnumerateArray().Select(a => (a.GetProperty("vdisk").GetString(), a.GetProperty("isDefault").GetBoolean())).ToList();
        Assert.Equal([("debian12", false), ("tools", true)], assignments);

        var vdisks = await _cli.JsonAsync("vdisk", "list");
        Assert.Equal(["debian12", "tools"], vdisks.EnumerateArray().Select(v => v.GetProperty("name").GetString()));
        Assert.Equal(512L << 20, vdisks[0].GetProperty("sizeBytes").GetInt64());
        Assert.Equal("raw", vdisks[0].GetProperty("format").GetString());
        Assert.True(File.Exists(Path.Combine(_cli.DataFolder, "vdisks", "debian12", "debian12.1.raw")));

        var collection = await _cli.JsonAsync("collection", "show", "lab");
        Assert.Equal("auto-register", collection.GetProperty("unknownDevicePolicy").GetString());
        Assert.Equal(1, collection.GetProperty("devices").GetInt32());

        var table = await _cli.OkAsync("device", "list");
        Assert.Contains("LAB-001", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("tools (default)", table.Stdout, StringComparison.Ordinal);

        var set = await _cli.JsonAsync("device", "set", "LAB-001", "--name", "kiosk-1", "--type", "maintenance", "--enabled", "false");
        Assert.Equal(("kiosk-1", "maintenance", false), (set.GetProperty("name").GetString(), set.GetProperty("type").GetString(), set.GetProperty("enabled").GetBoolean()));

        await _cli.OkAsync("unassign", "kiosk-1", "tools");
        Assert.Equal(1, (await _cli.RunAsync("vdisk", "delete", "debian12")).ExitCode);
        await _cli.OkAsync("vdisk", "delete", "debian12", "--force");
        Assert.False(Directory.Exists(Path.Combine(_cli.DataFolder, "vdisks", "debian12")));
        await _cli.OkAsync("device", "delete", "kiosk-1");
        Assert.Empty((await _cli.JsonAsync("device", "list")).EnumerateArray());

        var audit = await _cli.JsonAsync("audit", "list");
        Assert.Contains("device.delete", audit.EnumerateArray().Select(a => a.GetProperty("action").GetString()));
        Assert.Equal(0, (await _cli.JsonAsync("session", "list")).GetArrayLength());
    }

    [Theory]
    [InlineData(2, "not a MAC address", "device", "add", "zz:zz:zz")]
    [InlineData(2, "unknown unit 'Q'", "vdisk", "create", "x", "--size", "12Q")]
    [InlineData(2, "Option '--size' is required", "vdisk", "create", "x")]
    [InlineData(2, "not a policy for unknown devices", "collection", "add", "c", "--policy", "sometimes")]
    [InlineData(2, "nothing to change", "device", "set", "pc")]
    [InlineData(2, "Unrecognized command or argument 'frobnicate'", "frobnicate")]
    [InlineData(1, "no vDisk 'nope'", "vdisk", "show", "nope")]
    [InlineData(1, "no device 'ghost'", "device", "show", "ghost")]
    [InlineData(1, "no collection 'nope'", "device", "add", "52:54:00:00:00:09", "--collection", "nope")]
    public async Task Bad_input_gets_one_clear_line_and_the_right_exit_code(int exitCode, string message, params string[] arguments)
    {
        await _cli.OkAsync("db", "status");
        var result = await _cli.RunAsync(arguments);
        Assert.True(exitCode == result.ExitCode, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("streamboot: ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_duplicate_is_refused_and_nothing_is_written()
    {
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1");
        var auditBefore = (await _cli.JsonAsync("audit", "list")).GetArrayLength();
        var dupMac = await _cli.RunAsync("device", "add", "52-54-00-00-00-01", "--name", "pc2");
        var dupName = await _cli.RunAsync("device", "add", "52:54:00:00:00:02", "--name", "PC1");
        Assert.Equal((1, 1), (dupMac.ExitCode, dupName.ExitCode));
        Assert.Contains("already exists", dupMac.Stderr, StringComparison.Ordinal);
        Assert.Contains("already exists", dupName.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, (await _cli.JsonAsync("device", "list")).GetArrayLength());
        Assert.Equal(auditBefore, (await _cli.JsonAsync("audit", "list")).GetArrayLength());

        await _cli.OkAsync("vdisk", "create", "img", "--size", "1M");
        Assert.Equal(1, (await _cli.RunAsync("vdisk", "create", "IMG", "--size", "1M")).ExitCode);
        Assert.Equal(["img"], Directory.GetDirectories(Path.Combine(_cli.DataFolder, "vdisks")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task An_unwritable_data_folder_is_named_with_a_way_out()
    {
        var file = Path.Combine(_cli.DataFolder, "a-file");
        await File.WriteAllTextAsync(file, "");
        var result = await _cli.RunBareAsync("--data", Path.Combine(file, "sub"), "device", "add", "52:54:00:00:00:01");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is not writable", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--data", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_that_cannot_be_opened_is_a_clear_failure()
    {
        var unreachable = await _cli.RunAsync("--db", "postgresql://nobody@127.0.0.1:1/none", "device", "list");
        Assert.Equal(1, unreachable.ExitCode);
        // A PostgreSQL that does not answer: what it is, and that changes wait for it.
        Assert.Contains("the site database (PostgreSQL nobody@127.0.0.1:1/none) does not answer", unreachable.Stderr, StringComparison.Ordinal);
        Assert.Contains("changes wait until it is back", unreachable.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", unreachable.Stderr, StringComparison.Ordinal);

        var garbage = Path.Combine(_cli.DataFolder, "garbage.db");
        await File.WriteAllTextAsync(garbage, new string('x', 8192));
        var corrupt = await _cli.RunAsync("--db", garbage, "device", "list");
        Assert.Equal(1, corrupt.ExitCode);
        Assert.Contains("cannot open the database", corrupt.Stderr, StringComparison.Ordinal);

        var malformed = await _cli.RunAsync("--db", "a=b;c", "device", "list");
        Assert.Equal(2, malformed.ExitCode);
    }

    [Fact]
    public async Task The_data_folder_comes_from_the_environment_too()
    {
        _cli.Environment["STREAMBOOT_DATA"] = _cli.DataFolder;
        var result = await _cli.RunBareAsync("vdisk", "create", "envdisk", "--size", "1M");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(_cli.DataFolder, "streamboot.db")));
        Assert.True(File.Exists(Path.Combine(_cli.DataFolder, "vdisks", "envdisk", "envdisk.1.raw")));
    }

    [Fact]
    public async Task Bash_completion_asks_streamboot_for_its_verbs()
    {
        var script = await _cli.RunBareAsync("completion", "bash");
        Assert.Equal(0, script.ExitCode);
        Assert.Contains("complete -o default -F _streamboot_complete streamboot", script.Stdout, StringComparison.Ordinal);
        var suggestions = await _cli.RunBareAsync("[suggest:18]", "streamboot device ");
        Assert.Equal(["add", "delete", "list", "set", "show"], suggestions.Stdout.Split('\n').Where(s => s.Length > 0 && char.IsAsciiLetterLower(s[0])));
    }
}
