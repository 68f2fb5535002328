using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Testing;

namespace Streamboot.Admin.Tests;

/// <summary>
/// vDisk images, imports and versions, with qemu-img and qemu-io as the
/// judges of every file Streamboot writes. Runs on SQLite and PostgreSQL.
/// </summary>
public abstract class ImageAdminTests : SiteTests
{
    private VDiskAdmin VDisks => new(Site);

    private VersionAdmin Versions => new(Site);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
    }

    [Fact]
    public async Task A_qcow2_vdisk_is_what_qemu_img_expects()
    {
        var vdisk = await VDisks.CreateAsync("q", 256L << 20, format: "qcow2");
        Assert.True(vdisk.Ok, vdisk.Error?.Message);
        var file = FileOf(vdisk.Value, 1);
        var info = JsonDocument.Parse(await QemuImg.RunAsync("info", "--output=json", file)).RootElement;
        Assert.Equal("qcow2", info.GetProperty("format").GetString());
        Assert.Equal(256L << 20, info.GetProperty("virtual-size").GetInt64());
        await QemuImg.RunAsync("check", file);
    }

    [Fact]
    public async Task Versions_go_from_maintenance_through_test_to_production_and_merge_into_an_identical_base()
    {
        var vdisk = (await VDisks.CreateAsync("gold", 64L << 20, format: "qcow2")).Value!;
        await QemuImg.IoAsync("qcow2", FileOf(vdisk, 1), "write -P 0xab 0 1M", "write -P 0x11 60M 64k");

        var v2 = await Versions.NewAsync("gold");
        Assert.True(v2.Ok, v2.Error?.Message);
        Assert.Equal([(1, VersionStage.Production), (2, VersionStage.Maintenance)], v2.Value.Versions.Select(v => (v.Number, v.Stage)));
        Assert.Equal(AdminErrorKind.Refused, (await Versions.NewAsync("gold")).Error?.Kind);
        // The new version is a qcow2 overlay on the one below, by relative name.
        var info = JsonDocument.Parse(await QemuImg.RunAsync("info", "--output=json", FileOf(v2.Value, 2))).RootElement;
        Assert.Equal("gold.1.qcow2", info.GetProperty("backing-filename").GetString());
        await QemuImg.IoAsync("qcow2", FileOf(v2.Value, 2), "write -P 0xcd 512k 1M", "write -z 60M 64k");

        Assert.Equal(VersionStage.Test, (await Versions.PromoteAsync("gold")).Value!.Versions[^1].Stage);
        Assert.Equal(AdminErrorKind.Refused, (await Versions.MergeAsync("gold")).Error?.Kind);
        Assert.Equal(VersionStage.Production, (await Versions.PromoteAsync("gold")).Value!.Versions[^1].Stage);
        Assert.Equal(AdminErrorKind.Refused, (await Versions.PromoteAsync("gold")).Error?.Kind);

        var top = FileOf(v2.Value, 2);
        var merged = Path.Combine(Site.DataFolder, "merged-copy.qcow2");
        await QemuImg.RunAsync("convert", "-O", "qcow2", top, merged);
        var reports = new List<(long Done, long Total)>();
        var result = await Versions.MergeAsync("gold", new SyncProgress<(long, long)>(reports.Add));
        Assert.True(result.Ok, result.Error?.Message);
        var only = Assert.Single(result.Value.Versions);
        Assert.Equal((3, VersionStage.Production), (only.Number, only.Stage));
        var baseFile = FileOf(result.Value, 3);
        await QemuImg.RunAsync("check", baseFile);
        Assert.Contains("identical", await QemuImg.RunAsync("compare", merged, baseFile), StringComparison.Ordinal);
        await QemuImg.IoAsync("qcow2", baseFile, "read -P 0xab 0 512k", "read -P 0xcd 512k 1M", "read -P 0 60M 64k");
        Assert.False(JsonDocument.Parse(await QemuImg.RunAsync("info", "--output=json", baseFile)).RootElement.TryGetProperty("backing-filename", out _));
        Assert.False(File.Exists(top));
        Assert.NotEmpty(reports);
        Assert.Equal(64L << 20, reports[^1].Done);
    }

    [Fact]
    public async Task Merge_keeps_the_versions_a_running_client_booted_until_prune_finds_them_unused()
    {
        var vdisk = (await VDisks.CreateAsync("busy", 16L << 20, format: "qcow2")).Value!;
        await Versions.NewAsync("busy");
        await Versions.PromoteAsync("busy", "production");
        var session = await AddLiveSessionAsync("busy", version: 2);

        var merged = await Versions.MergeAsync("busy");
        Assert.Equal([1, 2, 3], merged.Value!.Versions.Select(v => v.Number));
        Assert.True(File.Exists(FileOf(vdisk, 1)));

        await using (var db = Site.Database.CreateContext())
        {
            await db.Sessions.Where(s => s.Id == session).ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, DateTime.UtcNow));
        }

        var pruned = await Versions.PruneAsync("busy");
        Assert.Equal([3], pruned.Value!.Versions.Select(v => v.Number));
        Assert.False(File.Exists(FileOf(vdisk, 1)));
    }

    [Fact]
    public async Task Rollback_discards_the_newest_version_unless_it_is_the_base_or_running()
    {
        await VDisks.CreateAsync("r", 16L << 20, format: "qcow2");
        Assert.Equal(AdminErrorKind.Refused, (await Versions.RollbackAsync("r")).Error?.Kind);
        var v2 = (await Versions.NewAsync("r")).Value!;
        var session = await AddLiveSessionAsync("r", version: 2);
        Assert.Equal(AdminErrorKind.Refused, (await Versions.RollbackAsync("r")).Error?.Kind);
        await using (var db = Site.Database.CreateContext())
        {
            await db.Sessions.Where(s => s.Id == session).ExecuteDeleteAsync();
        }

        var rolled = await Versions.RollbackAsync("r");
        Assert.Equal([1], rolled.Value!.Versions.Select(v => v.Number));
        Assert.False(File.Exists(FileOf(v2, 2)));
        Assert.True((await Versions.NewAsync("r")).Ok);
    }

    [Fact]
    public async Task Private_images_have_no_versions()
    {
        await VDisks.CreateAsync("mine", 16L << 20, accessMode: "private");
        Assert.Equal(AdminErrorKind.Refused, (await Versions.NewAsync("mine")).Error?.Kind);
    }

    [Theory]
    [InlineData("raw", "raw")]
    [InlineData("qcow2", "qcow2")]
    [InlineData("vpc", null)]
    [InlineData("vhdx", null)]
    [InlineData("vmdk", null)]
    [InlineData("vdi", null)]
    public async Task Images_made_by_qemu_img_import_byte_for_byte(string qemuFormat, string? sourceFormat)
    {
        var source = Path.Combine(Site.DataFolder, "source." + qemuFormat);
        await QemuImg.RunAsync("create", "-q", "-f", qemuFormat, source, "32M");
        await QemuImg.IoAsync(qemuFormat, source, "write -P 0x5a 0 64k", "write -P 0xa5 17M 1M");
        var result = await VDisks.ImportAsync("imported", source, sourceFormat: null);
        Assert.True(result.Ok, result.Error?.Message);
        Assert.Equal(ImageFormat.Qcow2, result.Value.Format);
        var file = FileOf(result.Value, 1);
        await QemuImg.RunAsync("check", file);
        Assert.Contains("identical", await QemuImg.RunAsync("compare", "-f", qemuFormat, "-F", "qcow2", source, file), StringComparison.Ordinal);
        _ = sourceFormat;
    }

    [Fact]
    public async Task A_qcow2_chain_imports_flattened_and_a_raw_file_stays_sparse()
    {
        var lower = Path.Combine(Site.DataFolder, "lower.qcow2");
        var upper = Path.Combine(Site.DataFolder, "upper.qcow2");
        await QemuImg.RunAsync("create", "-q", "-f", "qcow2", lower, "8M");
        await QemuImg.IoAsync("qcow2", lower, "write -P 0x01 0 1M");
        await QemuImg.RunAsync("create", "-q", "-f", "qcow2", "-b", lower, "-F", "qcow2", upper);
        await QemuImg.IoAsync("qcow2", upper, "write -P 0x02 512k 64k");
        var flat = await VDisks.ImportAsync("flat", upper, format: "raw");
        Assert.True(flat.Ok, flat.Error?.Message);
        var file = FileOf(flat.Value, 1);
        Assert.Contains("identical", await QemuImg.RunAsync("compare", "-F", "raw", upper, file), StringComparison.Ordinal);
        Assert.False(JsonDocument.Parse(await QemuImg.RunAsync("info", "--output=json", file)).RootElement.TryGetProperty("backing-filename", out _));
        var du = await ProcessRunner.RunAsync("du", ["-k", file]);
        Assert.True(long.Parse(du.Stdout.Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture) < 4096, du.Stdout);
    }

    [Fact]
    public async Task A_failed_import_leaves_nothing()
    {
        var broken = Path.Combine(Site.DataFolder, "broken.vhdx");
        await File.WriteAllBytesAsync(broken, [.. "vhdxfile"u8, .. new byte[64 * 1024]]);
        var result = await VDisks.ImportAsync("broken", broken);
        Assert.Equal(AdminErrorKind.Failed, result.Error?.Kind);
        Assert.Contains("cannot import", result.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("qemu-img", result.Error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Site.VDiskRoot, "broken")));
        Assert.Empty(await VDisks.ListAsync());

        Assert.Equal(AdminErrorKind.NotFound, (await VDisks.ImportAsync("x", "/nonexistent/disk.img")).Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await VDisks.ImportAsync("x", broken, sourceFormat: "iso")).Error?.Kind);
    }

    private static string FileOf(Views.VDiskView vdisk, int number) =>
        Path.Combine(vdisk.StorePath, $"{vdisk.Name}.{number}.{(number == 1 ? Kebab(vdisk.Format) : "qcow2")}");

    private static string Kebab(ImageFormat format) => format == ImageFormat.Raw ? "raw" : "qcow2";

    private async Task<long> AddLiveSessionAsync(string vdiskName, int version)
    {
        await using var db = Site.Database.CreateContext();
        var id = await db.VDisks.Where(v => v.Name == vdiskName).Select(v => v.Id).SingleAsync();
        var session = new Session { VDiskId = id, VersionNumber = version, Protocol = "nbd", StartedAt = DateTime.UtcNow, LastActivityAt = DateTime.UtcNow };
        db.Sessions.Add(session);
        await db.SaveChangesAsync();
        return session.Id;
    }

    /// <summary>Progress that records on the reporting thread (Progress&lt;T&gt; posts later).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

public sealed class SqliteImageAdminTests : ImageAdminTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Task.FromResult(DatabaseLocation.InDataFolder(dataFolder));
}

public sealed class PostgresImageAdminTests : ImageAdminTests
{
    protected override async Task<DatabaseLocation> CreateLocationAsync(string dataFolder) =>
        await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
}
