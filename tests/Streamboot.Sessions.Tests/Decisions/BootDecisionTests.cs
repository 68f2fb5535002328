using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Tests.Support;

namespace Streamboot.Sessions.Tests.Decisions;

/// <summary>What a booting client is told: known devices, menus, the unknown-device policies, one live identity. On SQLite and PostgreSQL.</summary>
public abstract class BootDecisionTests : SessionSiteTests
{
    private IBootSessions Planner => Layer;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Assert.True((await new VDiskAdmin(Site).CreateAsync("gold", 16L << 20, format: "qcow2", description: "Golden image")).Ok);
        Assert.True((await new VDiskAdmin(Site).CreateAsync("other", 16L << 20, format: "raw")).Ok);
        Assert.True((await new CollectionAdmin(Site).AddAsync("lab", new CollectionChanges(NamingPattern: "LAB-###", UnknownDevicePolicy: "refuse"))).Ok);
        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:01", new DeviceChanges(Name: "pc1"));
    }

    [Fact]
    public async Task A_device_with_one_vdisk_boots_it_under_its_identity()
    {
        await new AssignmentAdmin(Site).AssignAsync("pc1", "gold", false);
        var boot = Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52-54-00-00-00-01", Lab)));
        var device = (await new DeviceAdmin(Site).ShowAsync("pc1")).Value!;
        Assert.Equal(("pc1", "52:54:00:00:00:01", device.MachineId), (boot.Device.Name, boot.Device.Mac, boot.Device.MachineId));
        Assert.Equal(device.MachineId.ToString("N"), boot.Device.MachineIdHex);
        Assert.Equal(("gold", 1, "gold/pc1", WriteCacheMode.ServerDisk), (boot.Target.VDisk, boot.Target.Version, boot.Target.Export, boot.Target.WriteCacheMode));
        Assert.False(boot.Registered);
        Assert.True(Directory.Exists(boot.Target.StoreFolder));
    }

    [Fact]
    public async Task Several_vdisks_give_a_menu_in_assignment_order_with_the_default_marked()
    {
        await new AssignmentAdmin(Site).AssignAsync("pc1", "gold", false);
        await new AssignmentAdmin(Site).AssignAsync("pc1", "other", makeDefault: true);
        var menu = Assert.IsType<BootMenu>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", Lab)));
        Assert.Equal(["gold", "other"], menu.Items.Select(i => i.VDisk));
        Assert.Equal("Golden image", menu.Items[0].Description);
        Assert.Equal(1, menu.DefaultIndex);

        var chosen = Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", Lab, VDisk: "GOLD")));
        Assert.Equal("gold/pc1", chosen.Target.Export);
        var refused = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", Lab, VDisk: "nope")));
        Assert.Equal(BootRefusal.NotAssigned, refused.Reason);
    }

    [Fact]
    public async Task Bad_requests_disabled_and_unassigned_devices_are_told_why()
    {
        Assert.Equal(BootRefusal.BadRequest, Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest(null, Lab))).Reason);
        var bad = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:zz\u0007", Lab)));
        Assert.Equal(BootRefusal.BadRequest, bad.Reason);
        Assert.DoesNotContain('\u0007', bad.Message);

        var unassigned = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", Lab)));
        Assert.Equal(BootRefusal.NotAssigned, unassigned.Reason);
        Assert.Contains("streamboot assign pc1", unassigned.Message, StringComparison.Ordinal);

        await new AssignmentAdmin(Site).AssignAsync("pc1", "gold", false);
        await new DeviceAdmin(Site).SetAsync("pc1", new DeviceChanges(Enabled: false));
        var disabled = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", Lab)));
        Assert.Equal(BootRefusal.Disabled, disabled.Reason);
        Assert.Contains("pc1", disabled.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_machine_is_refused_with_its_mac_and_how_to_register_it()
    {
        // A new site's "default" collection receives unknown machines and refuses them.
        var refused = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:aa:bb:cc", Lab)));
        Assert.Equal(BootRefusal.UnknownDevice, refused.Reason);
        Assert.Contains("52:54:00:aa:bb:cc", refused.Message, StringComparison.Ordinal);
        Assert.Contains("streamboot device add 52:54:00:aa:bb:cc", refused.Message, StringComparison.Ordinal);
        Assert.False((await new DeviceAdmin(Site).ShowAsync("52:54:00:aa:bb:cc")).Ok);

        Assert.True((await new CollectionAdmin(Site).SetAsync("default", new CollectionChanges(ReceivesUnknown: false))).Ok);
        var nowhere = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:aa:bb:cc", Lab)));
        Assert.Contains("no collection receives unknown machines", nowhere.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auto_register_names_the_machine_from_the_pattern_and_boots_the_default_vdisk()
    {
        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:02", new DeviceChanges(Name: "LAB-001", Collection: "lab"));
        Assert.True((await new CollectionAdmin(Site).SetAsync("lab", new CollectionChanges(UnknownDevicePolicy: "auto-register", ReceivesUnknown: true))).Ok);
        var noDefault = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:aa:bb:cc", Lab)));
        Assert.Contains("--default-vdisk", noDefault.Message, StringComparison.Ordinal);

        await new CollectionAdmin(Site).SetAsync("lab", new CollectionChanges(DefaultVDisk: "gold"));
        var first = Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:aa:bb:cc", Lab)));
        Assert.Equal(("LAB-002", "lab", "gold/LAB-002", true), (first.Device.Name, first.Device.Collection, first.Target.Export, first.Registered));
        var second = Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:dd:ee:ff", "10.0.0.11")));
        Assert.Equal("LAB-003", second.Device.Name);
        Assert.NotEqual(first.Device.MachineId, second.Device.MachineId);

        // Its next boot is an ordinary one, under the same identity.
        var again = Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:aa:bb:cc", Lab)));
        Assert.Equal((first.Device.Name, first.Device.MachineId, false), (again.Device.Name, again.Device.MachineId, again.Registered));
        Assert.Contains((await new SiteQueries(Site).AuditAsync(50)), a => a.Action == "device.add" && a.Target == "LAB-002" && a.Actor == "tester@test");
    }

    [Fact]
    public async Task The_same_unknown_machine_asking_twice_at_once_is_registered_once()
    {
        await new CollectionAdmin(Site).SetAsync("lab", new CollectionChanges(UnknownDevicePolicy: "auto-register", DefaultVDisk: "gold", ReceivesUnknown: true));
        var decisions = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Planner.DecideAsync(new BootRequest("52:54:00:aa:bb:cc", Lab))));
        var names = decisions.Select(d => Assert.IsType<BootVDisk>(d).Device.Name).Distinct().ToList();
        Assert.Equal(["LAB-001"], names);
        Assert.Single((await new DeviceAdmin(Site).ListAsync("lab")).Value!);
    }

    [Fact]
    public async Task The_menu_policy_offers_the_vdisks_in_production_and_registers_the_choice()
    {
        await new CollectionAdmin(Site).SetAsync("lab", new CollectionChanges(UnknownDevicePolicy: "menu", ReceivesUnknown: true));
        var menu = Assert.IsType<RegistrationMenu>(await Planner.DecideAsync(new BootRequest("52:54:00:aa:bb:cc", Lab)));
        Assert.Equal(("52:54:00:aa:bb:cc", "lab"), (menu.Mac, menu.Collection));
        Assert.Equal(["gold", "other"], menu.Items.Select(i => i.VDisk));
        Assert.False((await new DeviceAdmin(Site).ShowAsync("52:54:00:aa:bb:cc")).Ok);

        var boot = Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:aa:bb:cc", Lab, Register: "other")));
        Assert.Equal(("LAB-001", "other", true), (boot.Device.Name, boot.Target.VDisk, boot.Registered));
        var bad = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:dd:ee:ff", Lab, Register: "nope")));
        Assert.Equal(BootRefusal.RegistrationFailed, bad.Reason);
        Assert.False((await new DeviceAdmin(Site).ShowAsync("52:54:00:dd:ee:ff")).Ok);
    }

    [Fact]
    public async Task A_second_machine_under_a_live_identity_is_refused_without_learning_who_holds_it()
    {
        await new AssignmentAdmin(Site).AssignAsync("pc1", "gold", false);
        var key = await BootAsync("52:54:00:00:00:01");
        var session = await OpenAsync($"gold/pc1/{key}", "10.0.0.10:40000");

        var other = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", "10.0.0.99")));
        Assert.Equal(BootRefusal.IdentityInUse, other.Reason);
        Assert.DoesNotContain("10.0.0.10", other.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("session " + session.Facts.SessionId.ToString(System.Globalization.CultureInfo.InvariantCulture), other.Message, StringComparison.Ordinal);
        // The machine itself rebooting (its old connection not yet gone) may boot.
        Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", "10.0.0.10")));
        Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", "::ffff:10.0.0.10")));

        await session.DisposeAsync();
        Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", "10.0.0.99")));
    }

    [Fact]
    public async Task A_vdisk_without_a_version_for_the_device_type_is_refused()
    {
        await new AssignmentAdmin(Site).AssignAsync("pc1", "gold", false);
        await new VersionAdmin(Site).NewAsync("gold");
        await new DeviceAdmin(Site).SetAsync("pc1", new DeviceChanges(Type: "maintenance"));
        var maintenance = Assert.IsType<BootVDisk>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:01", Lab)));
        Assert.Equal((2, WriteCacheMode.None), (maintenance.Target.Version, maintenance.Target.WriteCacheMode));

        await new VersionAdmin(Site).NewAsync("other");
        await using (var db = Site.Database.CreateContext())
        {
            // Every version of 'other' in maintenance: nothing a production device may boot.
            foreach (var v in db.VDiskVersions.Where(v => v.VDisk!.Name == "other"))
            {
                v.Stage = VersionStage.Maintenance;
            }

            await db.SaveChangesAsync();
        }

        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:05", new DeviceChanges(Name: "pc5"));
        await new AssignmentAdmin(Site).AssignAsync("pc5", "other", false);
        var none = Assert.IsType<BootRefused>(await Planner.DecideAsync(new BootRequest("52:54:00:00:00:05", Lab)));
        Assert.Equal(BootRefusal.NoVersion, none.Reason);
    }

    [Fact]
    public async Task Identity_answers_name_machine_id_export_and_key_to_its_boot_only()
    {
        await new AssignmentAdmin(Site).AssignAsync("pc1", "gold", false);
        var key = await BootAsync("52:54:00:00:00:01");
        var identity = await Planner.IdentityAsync(new IdentityRequest("52:54:00:00:00:01", key, "10.0.0.10"));
        Assert.True(identity.Ok, identity.Error?.Message);
        Assert.Equal(("pc1", "gold", "gold/pc1", key, false), (identity.Value.Device.Name, identity.Value.VDisk, identity.Value.Export, identity.Value.Key, identity.Value.Live));

        // Without the key: once, to the address the running boot streams to (a SAN-booted disk's OS).
        Assert.Equal(SessionRefusal.KeyRequired, (await Planner.IdentityAsync(new IdentityRequest("52:54:00:00:00:01", null, "10.0.0.10"))).Error?.Reason);
        await using (await OpenAsync($"gold/pc1/{key}", "10.0.0.10:40000"))
        {
            Assert.Equal(SessionRefusal.KeyRequired, (await Planner.IdentityAsync(new IdentityRequest("525400000001", null, "10.0.0.99"))).Error?.Reason);
            var fromBoot = await Planner.IdentityAsync(new IdentityRequest("525400000001", null, "10.0.0.10"));
            Assert.Equal((key, true), (fromBoot.Value!.Key, fromBoot.Value.Live));
            // A user of the running OS asking later learns nothing.
            Assert.Equal(SessionRefusal.KeyRequired, (await Planner.IdentityAsync(new IdentityRequest("525400000001", null, "10.0.0.10"))).Error?.Reason);
            Assert.True((await Planner.IdentityAsync(new IdentityRequest("525400000001", key, "10.0.0.10"))).Ok);
        }

        Assert.Equal(SessionRefusal.KeyRejected, (await Planner.IdentityAsync(new IdentityRequest("52:54:00:00:00:01", new string('0', 32), "10.0.0.10"))).Error?.Reason);
        Assert.Equal(SessionRefusal.UnknownDevice, (await Planner.IdentityAsync(new IdentityRequest("52:54:00:00:00:77", key, Lab))).Error?.Reason);
        Assert.Equal(SessionRefusal.BadName, (await Planner.IdentityAsync(new IdentityRequest("nonsense", key, Lab))).Error?.Reason);
    }

}

public sealed class SqliteBootDecisionTests : BootDecisionTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.SqliteAsync(dataFolder);
}

public sealed class PostgresBootDecisionTests : BootDecisionTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.PostgresAsync();
}
