using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// Mistakes a new user makes that must not pass in silence: unknown names,
/// a typo in --data or --db, MACs no card has, files that are no disk,
/// sizes, and changes that change more than they say.
/// </summary>
public sealed class SilentMistakeTests : IDisposable
{
    private readonly StreambootCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task An_unknown_collection_is_an_error_for_device_list()
    {
        await _cli.OkAsync("db", "status");
        var result = await _cli.RunAsync("device", "list", "--collection", "nosuch");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("streamboot: no collection 'nosuch'; 'streamboot collection list' shows the collections", result.Stderr.TrimEnd());
        Assert.Contains("No devices in collection default yet.", (await _cli.OkAsync("device", "list", "--collection", "default")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_typo_in_data_or_db_is_no_site_for_verbs_that_read_and_makes_nothing()
    {
        var typo = Path.Combine(_cli.DataFolder, "typo");
        var list = await _cli.RunBareAsync("--data", typo, "device", "list");
        Assert.Equal(1, list.ExitCode);
        Assert.StartsWith($"streamboot: no Streamboot site here (no data folder {typo}); check --data / STREAMBOOT_DATA, or make one: 'streamboot db status'", list.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(typo));

        var file = Path.Combine(_cli.DataFolder, "other.db");
        var show = await _cli.RunAsync("--db", file, "vdisk", "show", "x");
        Assert.Equal(1, show.ExitCode);
        Assert.Contains($"no database SQLite {file}); check --db / STREAMBOOT_DB", show.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(file));

        // A verb that adds something makes the site, and says so.
        var made = await _cli.RunBareAsync("--data", typo, "collection", "add", "lab");
        Assert.True(made.ExitCode == 0, made.ToString());
        Assert.Contains($"streamboot: note: made a new site: SQLite {Path.Combine(typo, "streamboot.db")}", made.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("note", (await _cli.RunBareAsync("--data", typo, "collection", "add", "lab2")).Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_url_of_an_unknown_scheme_is_refused_and_no_file_is_made()
    {
        var result = await _cli.RunAsync("--db", "notaurl://foo", "device", "list");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("has an unknown scheme 'notaurl:'", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Repository.Root, "notaurl:")));
        var add = await _cli.RunAsync("--db", "notaurl://foo", "device", "add", "52:54:00:00:00:01");
        Assert.Equal(2, add.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(Repository.Root, "notaurl:")));
    }

    [Theory]
    [InlineData("ff:ff:ff:ff:ff:ff", "is the broadcast address")]
    [InlineData("00:00:00:00:00:00", "is no network card's address")]
    [InlineData("01:00:5e:00:00:fb", "is a multicast (group) address")]
    public async Task Macs_no_card_has_are_refused_with_a_reason(string mac, string reason)
    {
        var add = await _cli.RunAsync("device", "add", mac);
        Assert.Equal(2, add.ExitCode);
        Assert.Contains(reason, add.Stderr, StringComparison.Ordinal);
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc");
        var set = await _cli.RunAsync("device", "set", "pc", "--mac", mac);
        Assert.Equal(2, set.ExitCode);
        Assert.Contains(reason, set.Stderr, StringComparison.Ordinal);
        Assert.Single((await _cli.JsonAsync("device", "list")).EnumerateArray());
    }

    [Fact]
    public async Task A_file_that_is_no_disk_image_is_refused_unless_it_is_said_to_be_raw()
    {
        var text = Path.Combine(_cli.DataFolder, "notes.txt");
        await File.WriteAllTextAsync(text, "sixteen bytes!!\n");
        var refused = await _cli.RunAsync("vdisk", "import", "notes", text);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("is no disk image Streamboot knows (raw, qcow2, VHD, VHDX, VMDK, VDI) and not a whole number of 512-byte sectors (16 bytes); if it is a raw disk, say so with --source-format raw", refused.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_cli.DataFolder, "vdisks", "notes")));

        var raw = await _cli.JsonAsync("vdisk", "import", "notes", text, "--source-format", "raw");
        Assert.Equal(512, raw.GetProperty("sizeBytes").GetInt64());
    }

    [Fact]
    public async Task Size_units_are_said_in_help_and_sizes_are_exact()
    {
        var help = await _cli.OkAsync("vdisk", "create", "--help");
        Assert.Contains("20G = 20GB = 20GiB = 21474836480 bytes", System.Text.RegularExpressions.Regex.Replace(help.Stdout, @"\s+", " "), StringComparison.Ordinal);
        var gb = await _cli.JsonAsync("vdisk", "create", "a", "--size", "2GB");
        Assert.Equal(2L << 30, gb.GetProperty("sizeBytes").GetInt64());
        // 9P in integers: 10133099161583616 bytes exactly (a double made it ...620, no whole sector).
        var huge = await _cli.RunAsync("vdisk", "create", "huge", "--size", "9P", "--json");
        if (huge.ExitCode == 0)
        {
            Assert.Equal(9L << 50, JsonDocument.Parse(huge.Stdout).RootElement.GetProperty("sizeBytes").GetInt64());
        }
        else
        {
            Assert.Equal(1, huge.ExitCode);
            Assert.Contains("(10133099161583616 bytes) is too large for the file system", huge.Stderr, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(_cli.DataFolder, "vdisks", "huge")));
        }

        var fraction = await _cli.RunAsync("vdisk", "create", "b", "--size", "1.0000001K");
        Assert.Equal(2, fraction.ExitCode);
        Assert.Contains("not a whole number of bytes", fraction.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Taking_unknown_machines_from_another_collection_says_what_changed()
    {
        var added = await _cli.OkAsync("collection", "add", "x", "--receives-unknown");
        Assert.Contains("Unknown machines now fall into x instead of default: they are refused", added.Stdout, StringComparison.Ordinal);
        var json = await _cli.JsonAsync("collection", "set", "default", "--receives-unknown");
        Assert.Equal("x", json.GetProperty("tookUnknownFrom").GetString());
        var audit = (await _cli.JsonAsync("audit", "list", "--limit", "1"))[0];
        Assert.Equal(JsonValueKind.Object, audit.GetProperty("details").ValueKind);
        Assert.Equal("x", audit.GetProperty("details").GetProperty("tookUnknownFrom").GetString());
        Assert.DoesNotContain("Unknown machines now", (await _cli.OkAsync("collection", "set", "default", "--receives-unknown")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_default_collection_keeps_its_name()
    {
        await _cli.OkAsync("db", "status");
        var rename = await _cli.RunAsync("collection", "set", "default", "--rename", "everyone");
        Assert.Equal(1, rename.ExitCode);
        Assert.Contains("collection 'default' is where devices added without --collection go, so it keeps its name", rename.Stderr, StringComparison.Ordinal);
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01");
    }

    [Fact]
    public async Task Client_ram_is_named_wherever_write_cache_modes_are_listed()
    {
        foreach (var verb in new[] { new[] { "device", "set", "--help" }, ["device", "add", "--help"], ["vdisk", "create", "--help"], ["vdisk", "import", "--help"], ["vdisk", "set", "--help"] })
        {
            Assert.Contains("client-ram", (await _cli.OkAsync(verb)).Stdout, StringComparison.Ordinal);
        }

        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc");
        var bad = await _cli.RunAsync("device", "set", "pc", "--write-cache", "bogus");
        Assert.Contains("client-ram", bad.Stderr, StringComparison.Ordinal);
        await _cli.OkAsync("device", "set", "pc", "--write-cache", "client-ram");
    }
}
