using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Testing;

namespace Streamboot.Admin.Tests;

/// <summary>Resolving exports to sessions, on SQLite and PostgreSQL.</summary>
public abstract class StreamingSessionsTests : SiteTests
{
    private StreamingSessions Sessions => new(Site, serverId: null);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Assert.True((await new VDiskAdmin(Site).CreateAsync("gold", 16L << 20, format: "qcow2")).Ok);
        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:01", new DeviceChanges(Name: "pc1"));
        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:02", new DeviceChanges(Name: "tester", Type: "test"));
        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:03", new DeviceChanges(Name: "maint", Type: "maintenance"));
        foreach (var device in new[] { "pc1", "tester", "maint" })
        {
            await new AssignmentAdmin(Site).AssignAsync(device, "gold", false);
        }
    }

    [Fact]
    public async Task The_bare_vdisk_export_is_a_read_only_view_of_production()
    {
        await new VersionAdmin(Site).NewAsync("gold");
        var plan = await Sessions.OpenAsync("gold", "nbd", "127.0.0.1:5000");
        Assert.True(plan.Ok, plan.Error?.Message);
        Assert.Equal((1, true, (string?)null), (plan.Value.Version, plan.Value.ReadOnly, plan.Value.Device));
        Assert.EndsWith("gold.1.qcow2", plan.Value.TopFile, StringComparison.Ordinal);
        var live = Assert.Single(await new SiteQueries(Site).SessionsAsync(includeEnded: false));
        Assert.Equal(("gold", "nbd", "127.0.0.1:5000"), (live.VDisk, live.Protocol, live.RemoteAddress));
    }

    [Fact]
    public async Task Each_device_type_streams_its_version_with_its_write_cache()
    {
        await new VersionAdmin(Site).NewAsync("gold");
        await new VersionAdmin(Site).PromoteAsync("gold");
        await new VersionAdmin(Site).NewAsync("gold");
        var production = (await Sessions.OpenAsync("gold/pc1", "nbd", null)).Value!;
        var test = (await Sessions.OpenAsync("gold/tester", "nbd", null)).Value!;
        var maintenance = (await Sessions.OpenAsync("gold/52-54-00-00-00-03", "nbd", null)).Value!;
        Assert.Equal((1, WriteCacheMode.ServerDisk, false), (production.Version, production.WriteCacheMode, production.ReadOnly));
        Assert.Equal((2, WriteCacheMode.ServerDisk), (test.Version, test.WriteCacheMode));
        // The maintenance device writes into the version in maintenance.
        Assert.Equal((3, WriteCacheMode.None, "maint"), (maintenance.Version, maintenance.WriteCacheMode, maintenance.Device));
    }

    [Fact]
    public async Task One_identity_never_has_two_live_sessions()
    {
        var first = await Sessions.OpenAsync("gold/pc1", "nbd", "10.0.0.1");
        Assert.True(first.Ok);
        var second = await Sessions.OpenAsync("gold/pc1", "nbd", "10.0.0.2");
        Assert.Equal(AdminErrorKind.Refused, second.Error?.Kind);
        Assert.Contains("already has a live session", second.Error!.Message, StringComparison.Ordinal);

        await Sessions.UpdateAsync(first.Value.SessionId, 4096, 512, 65536);
        var live = Assert.Single(await new SiteQueries(Site).SessionsAsync(includeEnded: false));
        Assert.Equal((4096L, 512L, 65536L), (live.BytesRead, live.BytesWritten, live.WriteCacheBytes));
        await Sessions.CloseAsync(first.Value.SessionId, 8192, 512, 65536);
        Assert.Empty(await new SiteQueries(Site).SessionsAsync(includeEnded: false));
        Assert.True((await Sessions.OpenAsync("gold/pc1", "nbd", "10.0.0.2")).Ok);
    }

    [Fact]
    public async Task A_reconnect_within_a_boot_keeps_its_version_and_a_new_boot_takes_the_newest()
    {
        var first = (await Sessions.OpenAsync("gold/pc1", "nbd", "10.0.0.1")).Value!;
        Assert.Equal((1, false), (first.Version, first.ContinuesBoot));
        await Sessions.CloseAsync(first.SessionId, 0, 0, 0);

        // Version 2 reaches production while pc1 runs version 1.
        await new VersionAdmin(Site).NewAsync("gold");
        await new VersionAdmin(Site).PromoteAsync("gold", "production");
        var reconnect = (await Sessions.OpenAsync("gold/pc1", "nbd", "10.0.0.1")).Value!;
        Assert.Equal((1, true), (reconnect.Version, reconnect.ContinuesBoot));
        await Sessions.CloseAsync(reconnect.SessionId, 0, 0, 0);

        // Its next boot (it asked for its boot script) runs version 2.
        await Sessions.NewBootAsync("pc1");
        var next = (await Sessions.OpenAsync("gold/pc1", "nbd", "10.0.0.1")).Value!;
        Assert.Equal((2, false), (next.Version, next.ContinuesBoot));
    }

    [Fact]
    public async Task Unknown_unassigned_and_disabled_are_refused()
    {
        Assert.Equal(AdminErrorKind.NotFound, (await Sessions.OpenAsync("nope", "nbd", null)).Error?.Kind);
        Assert.Equal(AdminErrorKind.NotFound, (await Sessions.OpenAsync("gold/ghost", "nbd", null)).Error?.Kind);
        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:09", new DeviceChanges(Name: "stranger"));
        var unassigned = await Sessions.OpenAsync("gold/stranger", "nbd", null);
        Assert.Equal(AdminErrorKind.Refused, unassigned.Error?.Kind);
        Assert.Contains("not assigned", unassigned.Error!.Message, StringComparison.Ordinal);
        await new DeviceAdmin(Site).SetAsync("pc1", new DeviceChanges(Enabled: false));
        Assert.Contains("disabled", (await Sessions.OpenAsync("gold/pc1", "nbd", null)).Error?.Message, StringComparison.Ordinal);
        Assert.Empty(await new SiteQueries(Site).SessionsAsync(includeEnded: true));
    }

    [Fact]
    public async Task A_private_image_is_written_in_place_and_client_disk_mode_is_read_only()
    {
        await new VDiskAdmin(Site).CreateAsync("own", 16L << 20, accessMode: "private");
        await new AssignmentAdmin(Site).AssignAsync("pc1", "own", false);
        var own = (await Sessions.OpenAsync("own/pc1", "nbd", null)).Value!;
        Assert.Equal((WriteCacheMode.None, false), (own.WriteCacheMode, own.ReadOnly));

        await new DeviceAdmin(Site).SetAsync("tester", new DeviceChanges(WriteCacheMode: "client-disk"));
        var local = (await Sessions.OpenAsync("gold/tester", "nbd", null)).Value!;
        Assert.Equal((WriteCacheMode.ClientDisk, true), (local.WriteCacheMode, local.ReadOnly));
        await new StreamingSessions(Site, serverId: null).CloseAsync(local.SessionId, 0, 0, 0);
        await new DeviceAdmin(Site).SetAsync("tester", new DeviceChanges(WriteCacheMode: "client-ram"));
        var ram = (await Sessions.OpenAsync("gold/tester", "nbd", null)).Value!;
        Assert.Equal((WriteCacheMode.ClientRam, true), (ram.WriteCacheMode, ram.ReadOnly));
    }
}

public sealed class SqliteStreamingSessionsTests : StreamingSessionsTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Task.FromResult(DatabaseLocation.InDataFolder(dataFolder));
}

public sealed class PostgresStreamingSessionsTests : StreamingSessionsTests
{
    protected override async Task<DatabaseLocation> CreateLocationAsync(string dataFolder) =>
        await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
}
