using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Testing;

namespace Streamboot.Admin.Tests;

/// <summary>
/// The admin operations end to end, on SQLite (<see cref="SqliteAdminTests"/>)
/// and PostgreSQL (<see cref="PostgresAdminTests"/>): what each does, what it
/// refuses, and that a refusal writes nothing.
/// </summary>
public abstract class AdminTests : SiteTests
{
    protected DeviceAdmin Devices => new(Site);

    protected VDiskAdmin VDisks => new(Site);

    protected CollectionAdmin Collections => new(Site);

    protected AssignmentAdmin Assignments => new(Site);

    [Fact]
    public async Task New_devices_are_named_from_their_collections_pattern()
    {
        Assert.True((await Collections.AddAsync("lab", new CollectionChanges(NamingPattern: "LAB-###"))).Ok);
        var first = await Devices.AddAsync("52:54:00:00:00:01", new DeviceChanges(Collection: "lab"));
        var second = await Devices.AddAsync("52-54-00-00-00-02", new DeviceChanges(Collection: "lab"));
        Assert.Equal("LAB-001", first.Value!.Name);
        Assert.Equal("LAB-002", second.Value!.Name);
        Assert.Equal("52:54:00:00:00:02", second.Value.Mac);
        Assert.NotEqual(first.Value.MachineId, second.Value.MachineId);
        Assert.NotEqual(Guid.Empty, first.Value.MachineId);
    }

    [Fact]
    public async Task Devices_added_at_once_get_distinct_names()
    {
        var adds = Enumerable.Range(1, 8).Select(i => Devices.AddAsync($"52:54:00:00:01:{i:x2}", new DeviceChanges()));
        var results = await Task.WhenAll(adds);
        Assert.All(results, r => Assert.True(r.Ok, r.Error?.Message));
        var names = results.Select(r => r.Value!.Name).ToList();
        Assert.Equal(8, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(names, n => Assert.StartsWith("PC-", n, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_duplicate_MAC_is_a_conflict_and_writes_nothing()
    {
        Assert.True((await Devices.AddAsync("52:54:00:12:34:56", new DeviceChanges(Name: "first"))).Ok);
        var audit = await AuditCountAsync();
        var result = await Devices.AddAsync("525400123456", new DeviceChanges(Name: "second"));
        Assert.Equal(AdminErrorKind.Conflict, result.Error?.Kind);
        Assert.Contains("52:54:00:12:34:56 already exists", result.Error!.Message, StringComparison.Ordinal);
        Assert.Single(await Devices.ListAsync());
        Assert.Equal(audit, await AuditCountAsync());
    }

    [Fact]
    public async Task A_duplicate_name_is_a_conflict_even_in_another_case()
    {
        Assert.True((await Devices.AddAsync("52:54:00:00:00:01", new DeviceChanges(Name: "kiosk"))).Ok);
        var result = await Devices.AddAsync("52:54:00:00:00:02", new DeviceChanges(Name: "KIOSK"));
        Assert.Equal(AdminErrorKind.Conflict, result.Error?.Kind);
        Assert.Contains("named 'KIOSK' already exists", result.Error!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zz:zz", null, null, "not a MAC address")]
    [InlineData("52:54:00:00:00:01", "bad_name", null, "'_'")]
    [InlineData("52:54:00:00:00:01", null, "sometimes", "not a device type")]
    public async Task Bad_device_fields_are_usage_errors(string mac, string? name, string? type, string expected)
    {
        var result = await Devices.AddAsync(mac, new DeviceChanges(Name: name, Type: type));
        Assert.Equal(AdminErrorKind.Invalid, result.Error?.Kind);
        Assert.Contains(expected, result.Error!.Message, StringComparison.Ordinal);
        Assert.Empty(await Devices.ListAsync());
    }

    [Fact]
    public async Task A_device_can_be_changed_found_by_name_or_MAC_and_deleted()
    {
        Assert.True((await Devices.AddAsync("52:54:00:00:00:01", new DeviceChanges(Name: "pc1"))).Ok);
        Assert.True((await Collections.AddAsync("lab", new CollectionChanges())).Ok);
        var set = await Devices.SetAsync("52-54-00-00-00-01", new DeviceChanges(Name: "pc2", Type: "test", WriteCacheMode: "server-ram", Enabled: false, Collection: "lab"));
        Assert.True(set.Ok, set.Error?.Message);
        Assert.Equal(("pc2", DeviceType.Test, WriteCacheMode.ServerRam, false, "lab"), (set.Value.Name, set.Value.Type, set.Value.WriteCacheMode, set.Value.Enabled, set.Value.Collection));
        var inherit = await Devices.SetAsync("PC2", new DeviceChanges(WriteCacheMode: "inherit"));
        Assert.Null(inherit.Value!.WriteCacheMode);
        Assert.Equal(AdminErrorKind.NotFound, (await Devices.ShowAsync("pc1")).Error?.Kind);
        Assert.True((await Devices.DeleteAsync("pc2")).Ok);
        Assert.Empty(await Devices.ListAsync());
    }

    [Fact]
    public async Task A_vdisk_is_a_sparse_image_of_the_size_asked()
    {
        var result = await VDisks.CreateAsync("win11", 20L << 30);
        Assert.True(result.Ok, result.Error?.Message);
        var file = Path.Combine(result.Value.StorePath, result.Value.Versions.Single().File);
        Assert.Equal(20L << 30, new FileInfo(file).Length);
        Assert.Equal((1, VersionStage.Production), (result.Value.Versions[0].Number, result.Value.Versions[0].Stage));
        // Sparse: a 20 GiB image that nobody wrote occupies (almost) no blocks.
        var du = await ProcessRunner.RunAsync("du", ["-k", file]);
        Assert.True(long.Parse(du.Stdout.Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture) < 1024, du.Stdout);
    }

    [Fact]
    public async Task A_refused_vdisk_leaves_no_file_behind()
    {
        Assert.True((await VDisks.CreateAsync("base", 1 << 20)).Ok);
        var duplicate = await VDisks.CreateAsync("BASE", 1 << 20);
        Assert.Equal(AdminErrorKind.Conflict, duplicate.Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await VDisks.CreateAsync("tiny", 4096)).Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await VDisks.CreateAsync("odd", (1 << 20) + 1)).Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await VDisks.CreateAsync("../escape", 1 << 20)).Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await VDisks.CreateAsync("p", 1 << 20, accessMode: "private", writeCacheMode: "server-disk")).Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await VDisks.CreateAsync("s", 1 << 20, writeCacheMode: "none")).Error?.Kind);
        Assert.Equal(["base"], Directory.GetDirectories(Site.VDiskRoot).Select(Path.GetFileName));
        Assert.Single(await VDisks.ListAsync());
    }

    [Fact]
    public async Task A_private_image_writes_into_itself_and_has_one_device()
    {
        var vdisk = await VDisks.CreateAsync("mine", 1 << 20, accessMode: "private");
        Assert.Equal((AccessMode.Private, WriteCacheMode.None), (vdisk.Value!.AccessMode, vdisk.Value.WriteCacheMode));
        await Devices.AddAsync("52:54:00:00:00:01", new DeviceChanges(Name: "owner"));
        await Devices.AddAsync("52:54:00:00:00:02", new DeviceChanges(Name: "other"));
        Assert.True((await Assignments.AssignAsync("owner", "mine", false)).Ok);
        var second = await Assignments.AssignAsync("other", "mine", false);
        Assert.Equal(AdminErrorKind.Refused, second.Error?.Kind);
        Assert.Contains("belongs to 'owner'", second.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Assignments_keep_one_default_in_menu_order()
    {
        await Devices.AddAsync("52:54:00:00:00:01", new DeviceChanges(Name: "pc"));
        foreach (var name in new[] { "a", "b", "c" })
        {
            Assert.True((await VDisks.CreateAsync(name, 1 << 20)).Ok);
        }

        Assert.True((await Assignments.AssignAsync("pc", "a", false)).Ok);
        Assert.True((await Assignments.AssignAsync("pc", "b", false)).Ok);
        var third = await Assignments.AssignAsync("pc", "c", true);
        Assert.Equal([("a", false, 1), ("b", false, 2), ("c", true, 3)], third.Value!.Assignments.Select(a => (a.VDisk, a.IsDefault, a.Position)));

        Assert.Equal(AdminErrorKind.Conflict, (await Assignments.AssignAsync("pc", "b", false)).Error?.Kind);
        var makeDefault = await Assignments.AssignAsync("pc", "b", true);
        Assert.Equal(["b"], makeDefault.Value!.Assignments.Where(a => a.IsDefault).Select(a => a.VDisk));

        var unassigned = await Assignments.UnassignAsync("pc", "b");
        Assert.Equal([("a", true), ("c", false)], unassigned.Value!.Assignments.Select(a => (a.VDisk, a.IsDefault)));
        Assert.Equal(AdminErrorKind.NotFound, (await Assignments.UnassignAsync("pc", "b")).Error?.Kind);
    }

    [Fact]
    public async Task Deleting_an_assigned_vdisk_needs_force_and_removes_its_files()
    {
        var vdisk = await VDisks.CreateAsync("shared", 1 << 20);
        await Devices.AddAsync("52:54:00:00:00:01", new DeviceChanges(Name: "pc"));
        await Assignments.AssignAsync("pc", "shared", false);

        var refused = await VDisks.DeleteAsync("shared", force: false);
        Assert.Equal(AdminErrorKind.Refused, refused.Error?.Kind);
        Assert.Contains("(pc)", refused.Error!.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(vdisk.Value!.StorePath));

        Assert.True((await VDisks.DeleteAsync("shared", force: true)).Ok);
        Assert.False(Directory.Exists(vdisk.Value.StorePath));
        Assert.Empty((await Devices.ShowAsync("pc")).Value!.Assignments);
    }

    [Fact]
    public async Task A_vdisk_being_streamed_cannot_be_deleted_even_with_force()
    {
        await VDisks.CreateAsync("live", 1 << 20);
        await using (var db = Site.Database.CreateContext())
        {
            var id = await db.VDisks.Select(v => v.Id).SingleAsync();
            db.Sessions.Add(new Session { VDiskId = id, VersionNumber = 1, Protocol = "nbd", StartedAt = DateTime.UtcNow, LastActivityAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }

        var result = await VDisks.DeleteAsync("live", force: true);
        Assert.Equal(AdminErrorKind.Refused, result.Error?.Kind);
        Assert.Contains("being streamed", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collections_carry_policy_pattern_and_default_vdisk()
    {
        Assert.True((await VDisks.CreateAsync("base", 1 << 20)).Ok);
        var added = await Collections.AddAsync("lab", new CollectionChanges(NamingPattern: "LAB-###", UnknownDevicePolicy: "auto-register", DefaultVDisk: "base"));
        Assert.True(added.Ok, added.Error?.Message);
        Assert.Equal((UnknownDevicePolicy.AutoRegister, "base"), (added.Value.UnknownDevicePolicy, added.Value.DefaultVDisk));

        Assert.Equal(AdminErrorKind.Invalid, (await Collections.SetAsync("lab", new CollectionChanges(UnknownDevicePolicy: "maybe"))).Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await Collections.SetAsync("lab", new CollectionChanges(NamingPattern: "LAB"))).Error?.Kind);
        Assert.Equal(AdminErrorKind.NotFound, (await Collections.SetAsync("lab", new CollectionChanges(DefaultVDisk: "nope"))).Error?.Kind);
        Assert.Equal(AdminErrorKind.Conflict, (await Collections.AddAsync("LAB", new CollectionChanges())).Error?.Kind);

        var cleared = await Collections.SetAsync("lab", new CollectionChanges(DefaultVDisk: "none", UnknownDevicePolicy: "menu"));
        Assert.Equal((UnknownDevicePolicy.Menu, (string?)null), (cleared.Value!.UnknownDevicePolicy, cleared.Value.DefaultVDisk));
    }

    [Fact]
    public async Task A_collection_with_devices_or_the_default_one_cannot_be_deleted()
    {
        await Collections.AddAsync("lab", new CollectionChanges());
        await Devices.AddAsync("52:54:00:00:00:01", new DeviceChanges(Collection: "lab"));
        Assert.Equal(AdminErrorKind.Refused, (await Collections.DeleteAsync("lab")).Error?.Kind);
        Assert.Equal(AdminErrorKind.Refused, (await Collections.DeleteAsync("default")).Error?.Kind);
        await Devices.DeleteAsync("52:54:00:00:00:01");
        Assert.True((await Collections.DeleteAsync("lab")).Ok);
    }

    [Fact]
    public async Task Every_change_is_in_the_audit_log_with_who_made_it()
    {
        await VDisks.CreateAsync("base", 1 << 20);
        await Devices.AddAsync("52:54:00:00:00:01", new DeviceChanges(Name: "pc"));
        await Assignments.AssignAsync("pc", "base", false);
        await Devices.SetAsync("pc", new DeviceChanges(Description: "front desk"));
        var log = await new SiteQueries(Site).AuditAsync(10);
        Assert.Equal(["device.set", "assign", "device.add", "vdisk.create"], log.Select(a => a.Action));
        Assert.All(log, a => Assert.Equal("tester@test", a.Actor));
        Assert.Contains("front desk", log[0].DetailsText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_collection_at_a_time_receives_unknown_machines()
    {
        Assert.True((await new CollectionAdmin(Site).AddAsync("lab", new CollectionChanges(NamingPattern: "LAB-###", ReceivesUnknown: true))).Ok);
        var all = await new CollectionAdmin(Site).ListAsync();
        Assert.Equal(["lab"], all.Where(c => c.ReceivesUnknown).Select(c => c.Name));
        Assert.True((await new CollectionAdmin(Site).AddAsync("kiosk", new CollectionChanges(ReceivesUnknown: true))).Ok);
        all = await new CollectionAdmin(Site).ListAsync();
        Assert.Equal(["kiosk"], all.Where(c => c.ReceivesUnknown).Select(c => c.Name));
    }

    [Fact]
    public async Task A_device_may_reserve_one_ipv4_address_no_other_device_has()
    {
        var devices = new DeviceAdmin(Site);
        Assert.True((await devices.AddAsync("52:54:00:00:10:01", new DeviceChanges(Name: "a", IpAddress: "10.0.0.21"))).Ok);
        Assert.Equal("10.0.0.21", (await devices.ShowAsync("a")).Value!.IpAddress);
        Assert.Equal(AdminErrorKind.Invalid, (await devices.AddAsync("52:54:00:00:10:02", new DeviceChanges(Name: "b", IpAddress: "10.0.0"))).Error?.Kind);
        Assert.Equal(AdminErrorKind.Invalid, (await devices.AddAsync("52:54:00:00:10:02", new DeviceChanges(Name: "b", IpAddress: "fe80::1"))).Error?.Kind);
        var taken = await devices.AddAsync("52:54:00:00:10:02", new DeviceChanges(Name: "b", IpAddress: "10.0.0.21"));
        Assert.Equal(AdminErrorKind.Conflict, taken.Error?.Kind);
        Assert.Contains("10.0.0.21 is already reserved", taken.Error!.Message, StringComparison.Ordinal);
        Assert.True((await devices.SetAsync("a", new DeviceChanges(IpAddress: "none"))).Ok);
        Assert.True((await devices.AddAsync("52:54:00:00:10:02", new DeviceChanges(Name: "b", IpAddress: "10.0.0.21"))).Ok);
    }

    private async Task<int> AuditCountAsync()
    {
        await using var db = Site.Database.CreateContext();
        return await db.AuditLog.CountAsync();
    }
}

public sealed class SqliteAdminTests : AdminTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Task.FromResult(DatabaseLocation.InDataFolder(dataFolder));
}

public sealed class PostgresAdminTests : AdminTests
{
    protected override async Task<DatabaseLocation> CreateLocationAsync(string dataFolder) =>
        await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
}
