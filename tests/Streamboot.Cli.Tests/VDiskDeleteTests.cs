using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary><c>vdisk delete</c> removes everything the vDisk owns and says what else it changed.</summary>
public sealed class VDiskDeleteTests : IDisposable
{
    private readonly StreambootCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Delete_force_removes_boot_files_write_caches_and_profiles_and_names_what_else_changed()
    {
        await _cli.OkAsync("vdisk", "create", "g", "--size", "1M");
        await _cli.OkAsync("vdisk", "create", "g.v1", "--size", "1M");
        await _cli.OkAsync("collection", "add", "lab", "--default-vdisk", "g");
        await _cli.OkAsync("collection", "set", "default", "--default-vdisk", "g");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc", "--collection", "lab");
        var boot = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "vdisks", "g", "boot")).FullName;
        await File.WriteAllTextAsync(Path.Combine(boot, "vmlinuz"), "kernel");
        var cache = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "cache", "g")).FullName;
        await File.WriteAllTextAsync(Path.Combine(cache, "pc.v1.1.qcow2"), "cache");
        var profiles = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "profiles")).FullName;
        await File.WriteAllTextAsync(Path.Combine(profiles, "g.v1.profile"), "profile");
        // The profile of vDisk "g.v1", whose name starts like g's profiles: it stays.
        await File.WriteAllTextAsync(Path.Combine(profiles, "g.v1.v1.profile"), "other");

        var refused = await _cli.RunAsync("vdisk", "delete", "g");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("assigned to 1 device(s) (pc)", refused.Stderr, StringComparison.Ordinal);

        var deleted = await _cli.OkAsync("vdisk", "delete", "g", "--force");
        Assert.Contains("Unassigned it from 1 device(s): pc", deleted.Stdout, StringComparison.Ordinal);
        Assert.Contains("Collection(s) default, lab no longer give new devices a default vDisk", deleted.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_cli.DataFolder, "vdisks", "g")));
        Assert.False(Directory.Exists(cache));
        Assert.False(File.Exists(Path.Combine(profiles, "g.v1.profile")));
        Assert.True(File.Exists(Path.Combine(profiles, "g.v1.v1.profile")));

        var audit = await _cli.JsonAsync("audit", "list", "--limit", "1");
        Assert.Equal(["default", "lab"], audit[0].GetProperty("details").GetProperty("clearedDefaultOf").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await _cli.JsonAsync("collection", "show", "lab")).GetProperty("defaultVDisk").ValueKind);

        // The name is free again: nothing of the old vDisk is in the way.
        await _cli.OkAsync("vdisk", "create", "g", "--size", "1M");
    }

    [Fact]
    public async Task Delete_keep_files_keeps_images_and_boot_files_and_says_so()
    {
        await _cli.OkAsync("vdisk", "create", "k", "--size", "1M");
        var json = await _cli.JsonAsync("vdisk", "delete", "k", "--keep-files");
        Assert.True(json.GetProperty("keptImages").GetBoolean());
        Assert.True(File.Exists(Path.Combine(_cli.DataFolder, "vdisks", "k", "k.1.raw")));
    }

    [Fact]
    public async Task Rollback_removes_the_versions_profile_and_write_caches_and_keeps_the_others()
    {
        await _cli.OkAsync("vdisk", "create", "r", "--size", "1M");
        await _cli.OkAsync("vdisk", "version", "new", "r");
        var ids = await VersionIdsAsync("r");
        var cache = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "cache", "r")).FullName;
        var profiles = Directory.CreateDirectory(Path.Combine(_cli.DataFolder, "profiles")).FullName;
        foreach (var (number, id) in ids)
        {
            await File.WriteAllTextAsync(Path.Combine(cache, $"pc.v{number}.{id}.qcow2"), "cache");
            await File.WriteAllTextAsync(Path.Combine(profiles, $"r.v{number}.profile"), "profile");
        }

        await _cli.OkAsync("vdisk", "version", "rollback", "r");
        Assert.Equal([$"pc.v1.{ids[1]}.qcow2"], Directory.GetFiles(cache).Select(Path.GetFileName));
        Assert.Equal(["r.v1.profile"], Directory.GetFiles(profiles).Select(Path.GetFileName));
    }

    /// <summary>The versions' database ids, which write-cache file names carry (nothing else shows them).</summary>
    private async Task<Dictionary<int, long>> VersionIdsAsync(string vdisk)
    {
        var python = ProcessRunner.Find("python3") ?? throw new InvalidOperationException("python3 is not installed");
        const string Script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print('\\n'.join('%d %d' % r for r in c.execute('SELECT v.number, v.id FROM vdisk_versions v JOIN vdisks d ON d.id = v.vdisk_id WHERE d.name = ?', (sys.argv[2],))))";
        var result = await ProcessRunner.RunAsync(python, ["-c", Script, Path.Combine(_cli.DataFolder, "streamboot.db"), vdisk]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => int.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
