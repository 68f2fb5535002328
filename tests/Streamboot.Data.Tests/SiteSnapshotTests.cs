using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Data.Model;
using Streamboot.Data.Outage;
using Streamboot.Testing;

namespace Streamboot.Data.Tests;

/// <summary>
/// A server's snapshot of a PostgreSQL site: what the serving paths change
/// in it during an outage reaches the database when it returns, with the
/// ids they handed out, and the database's own state stands where the two
/// disagree.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SiteSnapshotTests : IDisposable
{
    private readonly TempFolder _folder = new("snapshot");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Boots_and_sessions_changed_offline_are_written_back_with_their_ids_and_the_snapshot_file_is_private()
    {
        var (online, site) = await SiteAsync();
        var snapshot = new SiteSnapshot(online, Path.Combine(_folder.Path, "offline", "a.db"), () => site.ServerA, NullLoggerFactory.Instance);
        await snapshot.OpenAsync(CancellationToken.None);
        await snapshot.RefreshAsync(CancellationToken.None);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(snapshot.FilePath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(snapshot.FilePath)!));
        Assert.Equal(0, await snapshot.PendingAsync(CancellationToken.None));

        var serving = online.ServingFrom(snapshot);
        Assert.False(serving.Offline);
        await snapshot.GoOfflineForTestAsync(CancellationToken.None);
        Assert.True(serving.Offline);
        Assert.False(online.Offline);

        // A reboot of device 1 while offline, as the session layer does it:
        // a new boot, started (the old one deleted, the old session ended),
        // and a new live session.
        var now = DateTime.UtcNow;
        Boot boot;
        Session session;
        await using (var db = serving.CreateContext())
        {
            Assert.Equal(2, await db.Devices.CountAsync());
            boot = new Boot { DeviceId = site.Device1, VDiskId = site.VDisk, Key = "k-offline", IssuedAt = now, ServerId = site.ServerA };
            db.Boots.Add(boot);
            await db.SaveChangesAsync();
            await db.Boots.Where(b => b.DeviceId == site.Device1 && b.Id != boot.Id).ExecuteDeleteAsync();
            await db.Boots.Where(b => b.Id == boot.Id).ExecuteUpdateAsync(u => u.SetProperty(b => b.StartedAt, now).SetProperty(b => b.VersionNumber, 1));
            await db.Sessions.Where(s => s.DeviceId == site.Device1 && s.EndedAt == null).ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now));
            session = LiveSession(site.Device1, site.VDisk, site.ServerA, now);
            db.Sessions.Add(session);
            await db.SaveChangesAsync();
        }

        // Ids from this server's own range, far above the database's sequences.
        Assert.True(boot.Id > SiteSnapshot.OfflineIdBase && session.Id > SiteSnapshot.OfflineIdBase, $"{boot.Id}, {session.Id}");
        Assert.NotEqual(boot.Id, session.Id);
        Assert.True(await snapshot.PendingAsync(CancellationToken.None) >= 4);

        // Nothing reached the database yet.
        await using (var db = online.CreateContext())
        {
            Assert.Null(await db.Sessions.FindAsync(session.Id));
            Assert.NotNull(await db.Sessions.SingleOrDefaultAsync(s => s.DeviceId == site.Device1 && s.EndedAt == null));
        }

        var written = await snapshot.WriteBackAsync(CancellationToken.None);
        Assert.Equal(0, written.Conflicts);
        Assert.True(await snapshot.TryReturnAsync(CancellationToken.None));
        Assert.False(serving.Offline);
        Assert.Equal(0, await snapshot.PendingAsync(CancellationToken.None));
        await using (var db = online.CreateContext())
        {
            var live = await db.Sessions.SingleAsync(s => s.DeviceId == site.Device1 && s.EndedAt == null);
            Assert.Equal(session.Id, live.Id);
            Assert.NotNull((await db.Sessions.SingleAsync(s => s.Id == site.Session1)).EndedAt);
            var boots = await db.Boots.Where(b => b.DeviceId == site.Device1).ToListAsync();
            var only = Assert.Single(boots);
            Assert.Equal(boot.Id, only.Id);
            Assert.NotNull(only.StartedAt);
            Assert.Equal(1, only.VersionNumber);
            // Device 2's rows were not touched.
            Assert.NotNull(await db.Sessions.SingleOrDefaultAsync(s => s.DeviceId == site.Device2 && s.EndedAt == null));
        }

        // The next outage hands out the ids after these, not these again.
        await snapshot.RefreshAsync(CancellationToken.None);
        await snapshot.GoOfflineForTestAsync(CancellationToken.None);
        await using (var db = serving.CreateContext())
        {
            var again = new Boot { DeviceId = site.Device2, VDiskId = site.VDisk, Key = "k-offline-2", IssuedAt = now };
            db.Boots.Add(again);
            await db.SaveChangesAsync();
            Assert.True(again.Id > Math.Max(boot.Id, session.Id), $"{again.Id} after {boot.Id}, {session.Id}");
        }
    }

    [Fact]
    public async Task A_device_another_server_took_meanwhile_keeps_the_database_state_and_the_rest_is_written_back()
    {
        var (online, site) = await SiteAsync();
        var snapshot = new SiteSnapshot(online, Path.Combine(_folder.Path, "offline", "a.db"), () => site.ServerA, NullLoggerFactory.Instance);
        await snapshot.OpenAsync(CancellationToken.None);
        await snapshot.RefreshAsync(CancellationToken.None);
        var serving = online.ServingFrom(snapshot);
        await snapshot.GoOfflineForTestAsync(CancellationToken.None);

        var now = DateTime.UtcNow;
        long mine;
        long other;
        await using (var db = serving.CreateContext())
        {
            // Device 2 ends its session and starts another here; device 1 only reports counters.
            await db.Sessions.Where(s => s.DeviceId == site.Device2 && s.EndedAt == null).ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now));
            var session = LiveSession(site.Device2, site.VDisk, site.ServerA, now);
            db.Sessions.Add(session);
            await db.SaveChangesAsync();
            mine = session.Id;
            await db.Sessions.Where(s => s.Id == site.Session1).ExecuteUpdateAsync(u => u.SetProperty(s => s.BytesRead, 12345));
        }

        // Meanwhile (the snapshot's view was stale) server B holds device 2 in the database.
        await using (var db = online.CreateContext())
        {
            await db.Sessions.Where(s => s.DeviceId == site.Device2 && s.EndedAt == null).ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now));
            var taken = LiveSession(site.Device2, site.VDisk, site.ServerB, now);
            db.Sessions.Add(taken);
            await db.SaveChangesAsync();
            other = taken.Id;
        }

        var written = await snapshot.WriteBackAsync(CancellationToken.None);
        Assert.Equal(1, written.Conflicts);
        Assert.Equal(2, written.Rows);
        await using (var db = online.CreateContext())
        {
            var live = await db.Sessions.SingleAsync(s => s.DeviceId == site.Device2 && s.EndedAt == null);
            Assert.Equal(other, live.Id);
            Assert.Null(await db.Sessions.FindAsync(mine));
            Assert.Equal(12345, (await db.Sessions.SingleAsync(s => s.Id == site.Session1)).BytesRead);
        }
    }

    [Fact]
    public async Task Refresh_copies_the_site_and_a_server_without_an_id_never_goes_offline()
    {
        var (online, site) = await SiteAsync();
        var snapshot = new SiteSnapshot(online, Path.Combine(_folder.Path, "offline", "x.db"), () => null, NullLoggerFactory.Instance);
        await snapshot.OpenAsync(CancellationToken.None);
        // Before the first refresh there is nothing to serve from.
        Assert.False(await snapshot.ConfirmOutageAsync());
        await snapshot.RefreshAsync(CancellationToken.None);
        Assert.NotNull(snapshot.TakenAt);
        await using (var db = snapshot.CreateContext())
        {
            Assert.Equal(2, await db.Devices.CountAsync());
            Assert.Equal(2, await db.Servers.CountAsync());
            Assert.Equal(2, await db.Sessions.CountAsync(s => s.EndedAt == null));
            Assert.Equal(site.VDisk, (await db.VDiskVersions.SingleAsync()).VDiskId);
        }

        // A rename in the database reaches the snapshot at the next refresh; the database still answers, so no outage.
        await using (var db = online.CreateContext())
        {
            await db.Devices.Where(d => d.Id == site.Device1).ExecuteUpdateAsync(u => u.SetProperty(d => d.Name, "renamed"));
        }

        await snapshot.RefreshAsync(CancellationToken.None);
        await using (var db = snapshot.CreateContext())
        {
            Assert.Equal("renamed", (await db.Devices.SingleAsync(d => d.Id == site.Device1)).Name);
        }

        Assert.False(await snapshot.ConfirmOutageAsync());
        Assert.False(snapshot.Offline);
    }

    [Fact]
    public async Task After_an_outage_a_heartbeat_from_before_it_counts_only_the_silence_while_the_database_answered()
    {
        var (online, site) = await SiteAsync();
        var clock = new StepClock(DateTime.UtcNow);
        var snapshot = new SiteSnapshot(online, Path.Combine(_folder.Path, "offline", "a.db"), () => site.ServerA, NullLoggerFactory.Instance, clock);
        await snapshot.OpenAsync(CancellationToken.None);
        await snapshot.RefreshAsync(CancellationToken.None);
        var serving = online.ServingFrom(snapshot);
        var downAfter = TimeSpan.FromSeconds(30);
        var taken = clock.Now;
        Assert.Equal(taken, serving.AsOf(clock.Now, downAfter));

        // The database goes away 5 s after the last refresh and answers again 40 s later.
        clock.Advance(TimeSpan.FromSeconds(5));
        await snapshot.GoOfflineForTestAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(taken, serving.AsOf(clock.Now, downAfter));
        Assert.True(await snapshot.TryReturnAsync(CancellationToken.None));
        Assert.Equal((taken, clock.Now), snapshot.LastOutage);

        // 10 s after: another server's heartbeat from the last refresh has been silent
        // for 10 s of a database that answered, not 55: it is not down yet.
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(taken + TimeSpan.FromSeconds(10), serving.AsOf(clock.Now, downAfter));
        Assert.True(serving.AsOf(clock.Now, downAfter) - taken <= downAfter);

        // Once the database has answered for the whole down time, heartbeats are judged against now.
        clock.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(clock.Now, serving.AsOf(clock.Now, downAfter));
        Assert.Equal(clock.Now, online.AsOf(clock.Now, downAfter));
    }

    private sealed class StepClock(DateTime start) : TimeProvider
    {
        public DateTime Now { get; private set; } = start;

        public void Advance(TimeSpan by) => Now += by;

        public override DateTimeOffset GetUtcNow() => new(Now, TimeSpan.Zero);
    }

    private static Session LiveSession(long device, long vdisk, long server, DateTime now) =>
        new() { DeviceId = device, VDiskId = vdisk, VersionNumber = 1, ServerId = server, Protocol = "nbd", StartedAt = now, LastActivityAt = now };

    private sealed record Site(long ServerA, long ServerB, long VDisk, long Device1, long Device2, long Session1);

    private static async Task<(SiteDatabase Online, Site Site)> SiteAsync()
    {
        var postgres = await PostgresCluster.SharedAsync();
        var online = await SiteDatabase.OpenAsync(await postgres.CreateDatabaseAsync());
        var now = DateTime.UtcNow;
        await using var db = online.CreateContext();
        var a = new Model.Server { Name = "a", StartedAt = now, LastHeartbeatAt = now };
        var b = new Model.Server { Name = "b", StartedAt = now, LastHeartbeatAt = now };
        var vdisk = new VDisk { Name = "std", StorePath = "vdisks/std", SizeBytes = 1 << 20, CreatedAt = now };
        db.AddRange(a, b, vdisk);
        await db.SaveChangesAsync();
        db.VDiskVersions.Add(new VDiskVersion { VDiskId = vdisk.Id, Number = 1, FileName = "std.1.raw", Stage = VersionStage.Production, CreatedAt = now });
        var collection = await db.Collections.FirstAsync();
        var d1 = new Device { Mac = "52:54:00:00:00:01", Name = "d1", MachineId = Guid.NewGuid(), CollectionId = collection.Id, CreatedAt = now, UpdatedAt = now };
        var d2 = new Device { Mac = "52:54:00:00:00:02", Name = "d2", MachineId = Guid.NewGuid(), CollectionId = collection.Id, CreatedAt = now, UpdatedAt = now };
        db.AddRange(d1, d2);
        await db.SaveChangesAsync();
        var s1 = LiveSession(d1.Id, vdisk.Id, a.Id, now);
        var s2 = LiveSession(d2.Id, vdisk.Id, a.Id, now);
        db.AddRange(s1, s2);
        db.Boots.Add(new Boot { DeviceId = d1.Id, VDiskId = vdisk.Id, Key = "k-online", IssuedAt = now, StartedAt = now, VersionNumber = 1, ServerId = a.Id });
        await db.SaveChangesAsync();
        return (online, new Site(a.Id, b.Id, vdisk.Id, d1.Id, d2.Id, s1.Id));
    }
}
