using Microsoft.EntityFrameworkCore;
using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Tests.Support;
using Streamboot.Testing;

namespace Streamboot.Sessions.Tests.Views;

/// <summary>
/// Views through the session layer, as every front end opens them: the
/// shared read-only view, devices' own views with their boots' keys, their
/// versions and write caches, on SQLite and PostgreSQL.
/// </summary>
public abstract class ViewTests : SessionSiteTests
{
    private string _base = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var vdisk = await new VDiskAdmin(Site).CreateAsync("gold", 32L << 20, format: "qcow2");
        _base = Path.Combine(vdisk.Value!.StorePath, "gold.1.qcow2");
        await QemuImg.IoAsync("qcow2", _base, "write -P 0x11 0 4M");
        await new VDiskAdmin(Site).CreateAsync("own", 8L << 20, accessMode: "private");
        foreach (var (mac, name, type) in new[] { ("52:54:00:00:00:01", "pc1", "production"), ("52:54:00:00:00:02", "pc2", "production"), ("52:54:00:00:00:03", "tester", "test"), ("52:54:00:00:00:04", "maint", "maintenance") })
        {
            await new DeviceAdmin(Site).AddAsync(mac, new DeviceChanges(Name: name, Type: type));
            await new AssignmentAdmin(Site).AssignAsync(name, "gold", false);
        }
    }

    [Fact]
    public async Task Two_devices_see_only_their_own_writes_and_the_read_only_view_sees_neither()
    {
        var before = await HashAsync(_base);
        var pc1Key = await BootAsync("52:54:00:00:00:01", "10.0.0.1");
        var pc2Key = await BootAsync("52:54:00:00:00:02", "10.0.0.2");
        await using (var pc1 = await OpenAsync($"gold/pc1/{pc1Key}", "10.0.0.1:1"))
        await using (var pc2 = await OpenAsync($"gold/pc2/{pc2Key}", "10.0.0.2:1"))
        await using (var view = await OpenAsync("gold", "10.0.0.3:1"))
        {
            await pc1.Device.WriteAsync(1 << 20, Fill(0xA1, 4096));
            await pc2.Device.WriteAsync(1 << 20, Fill(0xB2, 4096));
            Assert.Equal(0xA1, await ByteAtAsync(pc1, 1 << 20));
            Assert.Equal(0xB2, await ByteAtAsync(pc2, 1 << 20));
            Assert.Equal(0x11, await ByteAtAsync(view, 1 << 20));
            Assert.True(view.Facts.ReadOnly);
            Assert.Equal((0L, (string?)null), (view.Facts.SessionId, view.Facts.Device));
            await Assert.ThrowsAnyAsync<Exception>(async () => await view.Device.WriteAsync(0, Fill(0xFF, 512)));
        }

        Assert.Equal(before, await HashAsync(_base));
        var version = await VersionIdAsync("gold", 1);
        foreach (var device in new[] { "pc1", "pc2" })
        {
            await QemuImg.RunAsync("check", Layer.OverlayPath("gold", device, 1, version));
        }

        await QemuImg.IoAsync("qcow2", Layer.OverlayPath("gold", "pc1", 1, version), "read -P 0xa1 1M 4k", "read -P 0x11 0 1M");
    }

    [Fact]
    public async Task The_read_only_view_leaves_no_session_row_however_often_it_is_opened()
    {
        for (var i = 0; i < 20; i++)
        {
            await using var view = await OpenAsync("gold", $"10.0.0.{i}:1");
            Assert.Equal(0x11, await ByteAtAsync(view, 0));
        }

        Assert.Empty(await new SiteQueries(Site).SessionsAsync(includeEnded: true));
    }

    [Fact]
    public async Task Each_device_type_streams_its_version_with_its_write_cache()
    {
        await new VersionAdmin(Site).NewAsync("gold");
        await new VersionAdmin(Site).PromoteAsync("gold");
        await new VersionAdmin(Site).NewAsync("gold");
        var production = (await OpenAsync($"gold/pc1/{await BootAsync("52:54:00:00:00:01")}")).Facts;
        var test = (await OpenAsync($"gold/tester/{await BootAsync("52:54:00:00:00:03", "10.0.0.3")}", "10.0.0.3:1")).Facts;
        var maintenance = (await OpenAsync($"gold/52-54-00-00-00-04/{await BootAsync("52:54:00:00:00:04", "10.0.0.4")}", "10.0.0.4:1")).Facts;
        Assert.Equal((1, WriteCacheMode.ServerDisk, false), (production.Version, production.WriteCacheMode, production.ReadOnly));
        Assert.Equal((2, WriteCacheMode.ServerDisk), (test.Version, test.WriteCacheMode));
        // The maintenance device writes into the version in maintenance.
        Assert.Equal((3, WriteCacheMode.None, "maint"), (maintenance.Version, maintenance.WriteCacheMode, maintenance.Device));
    }

    [Fact]
    public async Task A_devices_connections_share_one_session_and_the_last_one_ends_it()
    {
        var key = await BootAsync("52:54:00:00:00:01");
        var first = await OpenAsync($"gold/pc1/{key}");
        var second = await OpenAsync($"gold/52-54-00-00-00-01/{key}", Lab + ":40001");
        Assert.Equal(first.Facts.SessionId, second.Facts.SessionId);
        await first.Device.WriteAsync(0, Fill(0x42, 8192));
        Assert.Equal(0x42, await ByteAtAsync(second, 0));
        await first.DisposeAsync();
        await first.DisposeAsync();
        var live = Assert.Single(await new SiteQueries(Site).SessionsAsync(false));
        Assert.Equal("pc1", live.Device);

        await second.DisposeAsync();
        Assert.Empty(await new SiteQueries(Site).SessionsAsync(false));
        var ended = Assert.Single(await new SiteQueries(Site).SessionsAsync(true));
        Assert.Equal(8192, ended.BytesWritten);
        Assert.True(ended.WriteCacheBytes > 8192);
    }

    [Fact]
    public async Task Live_sessions_traffic_reaches_their_rows_and_an_idle_sessions_row_is_left_alone()
    {
        var views = new List<Streamboot.Sessions.Views.SessionView>();
        for (var i = 1; i <= 3; i++)
        {
            var mac = $"52:54:00:00:01:{i:x2}";
            await new DeviceAdmin(Site).AddAsync(mac, new DeviceChanges(Name: $"lab{i}"));
            await new AssignmentAdmin(Site).AssignAsync($"lab{i}", "gold", false);
            views.Add(await OpenAsync($"gold/lab{i}/{await BootAsync(mac, $"10.0.2.{i}")}", $"10.0.2.{i}:40000"));
        }

        await views[0].Device.WriteAsync(0, Fill(0x11, 4096));
        await views[1].Device.WriteAsync(0, Fill(0x22, 8192));
        await Layer.MaintainAsync(CancellationToken.None);
        var rows = (await new SiteQueries(Site).SessionsAsync(false)).ToDictionary(s => s.Device!);
        Assert.Equal([4096L, 8192L, 0L], new[] { rows["lab1"].BytesWritten, rows["lab2"].BytesWritten, rows["lab3"].BytesWritten });

        // Only lab2 moves: lab1's row keeps its last activity; lab2's shows the new traffic.
        await views[1].Device.ReadAsync(0, new byte[4096]);
        await Layer.MaintainAsync(CancellationToken.None);
        var again = (await new SiteQueries(Site).SessionsAsync(false)).ToDictionary(s => s.Device!);
        Assert.Equal(rows["lab1"].LastActivityAt, again["lab1"].LastActivityAt);
        Assert.Equal(rows["lab1"].BytesWritten, again["lab1"].BytesWritten);
        Assert.Equal(rows["lab2"].BytesRead + 4096, again["lab2"].BytesRead);

        foreach (var view in views)
        {
            await view.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_reconnect_within_a_boot_keeps_its_writes_and_its_version_and_a_new_boot_takes_the_newest()
    {
        var key = await BootAsync("52:54:00:00:00:02");
        await using (var view = await OpenAsync($"gold/pc2/{key}"))
        {
            Assert.Equal(1, view.Facts.Version);
            await view.Device.WriteAsync(2 << 20, Fill(0x77, 65536));
        }

        // Version 2 reaches production while pc2 runs version 1.
        await new VersionAdmin(Site).NewAsync("gold");
        await new VersionAdmin(Site).PromoteAsync("gold", "production");
        await using (var again = await OpenAsync($"gold/pc2/{key}"))
        {
            Assert.Equal(1, again.Facts.Version);
            Assert.Equal(0x77, await ByteAtAsync(again, 2 << 20));
        }

        // Its next boot (a new key) runs version 2, with a clean cache.
        await using var next = await OpenAsync($"gold/pc2/{await BootAsync("52:54:00:00:00:02")}");
        Assert.Equal(2, next.Facts.Version);
        Assert.Equal(0x11, await ByteAtAsync(next, 2 << 20));
    }

    [Fact]
    public async Task A_sessions_row_keeps_its_boots_times_through_a_reconnect_and_after_the_next_boot()
    {
        var key = await BootAsync("52:54:00:00:00:01");
        // The boot's script and its disk's first open, some time apart (firmware, kernel and initrd in a real boot).
        await Task.Delay(400);
        await using (await OpenAsync($"gold/pc1/{key}"))
        {
        }

        Admin.Views.SessionView first;
        await using (var db = Site.Database.CreateContext())
        {
            var boot = await db.Boots.SingleAsync(b => b.Device!.Name == "pc1");
            first = (await new SiteQueries(Site).SessionsAsync(includeEnded: true)).Single(s => s.Device == "pc1");
            Assert.Equal(boot.IssuedAt, first.BootIssuedAt);
            Assert.Equal(boot.StartedAt, first.BootStartedAt);
            // Its first open was over NBD, the client boot component's: that open connected the root.
            Assert.Equal(boot.RootConnectedAt, first.BootRootConnectedAt);
            Assert.InRange((first.BootRootConnectedAt!.Value - first.BootStartedAt!.Value).TotalSeconds, 0, 5);
        }

        Assert.InRange(first.BootSeconds!.Value, 0.4, 30);
        Assert.Equal(Math.Round((first.BootRootConnectedAt.Value - first.BootIssuedAt!.Value).TotalSeconds, 1), first.BootSeconds);

        // A reconnect of that boot is a new session row with the boot's times, not its own.
        await Task.Delay(200);
        await using (await OpenAsync($"gold/pc1/{key}"))
        {
        }

        // The next boot replaces the boot's row; the ended sessions still say how long their boot took.
        await using (await OpenAsync($"gold/pc1/{await BootAsync("52:54:00:00:00:01")}"))
        {
        }

        var rows = (await new SiteQueries(Site).SessionsAsync(includeEnded: true)).Where(s => s.Device == "pc1").OrderBy(s => s.Id).ToList();
        Assert.Equal(3, rows.Count);
        Assert.All(rows.Take(2), r => Assert.Equal((first.BootIssuedAt, first.BootStartedAt, first.BootRootConnectedAt), (r.BootIssuedAt, r.BootStartedAt, r.BootRootConnectedAt)));
        Assert.NotEqual(first.BootIssuedAt, rows[2].BootIssuedAt);
        Assert.True(rows[1].StartedAt > rows[1].BootStartedAt, "the reconnect opened after its boot started");
    }

    [Fact]
    public async Task A_san_boots_duration_runs_to_its_os_connecting_the_root_over_nbd_not_to_the_firmwares_first_read()
    {
        var key = await BootAsync("52:54:00:00:00:02");
        await Task.Delay(200);
        // iPXE's sanboot opens the disk over HTTP; the disk's own loader, kernel and initramfs run from it.
        var firmware = await TryOpenAsync($"gold/pc2/{key}", Lab + ":40001", "http");
        Assert.True(firmware.Ok, firmware.Error?.Message);
        await using (firmware.Value)
        {
            var started = (await new SiteQueries(Site).SessionsAsync(includeEnded: false)).Single(s => s.Device == "pc2");
            Assert.Null(started.BootRootConnectedAt);
            Assert.Equal(Math.Round((started.BootStartedAt!.Value - started.BootIssuedAt!.Value).TotalSeconds, 1), started.BootSeconds);

            // Then the initramfs connects its root over NBD, joining that boot's session.
            await Task.Delay(600);
            await using (await OpenAsync($"gold/pc2/{key}", Lab + ":40002"))
            {
                var rooted = (await new SiteQueries(Site).SessionsAsync(includeEnded: false)).Single(s => s.Device == "pc2");
                Assert.Equal(started.Id, rooted.Id);
                Assert.InRange((rooted.BootRootConnectedAt!.Value - rooted.BootStartedAt!.Value).TotalSeconds, 0.6, 30);
                Assert.InRange(rooted.BootSeconds!.Value, 0.8, 30);
                await using var db = Site.Database.CreateContext();
                Assert.Equal(rooted.BootRootConnectedAt, (await db.Boots.SingleAsync(b => b.Device!.Name == "pc2")).RootConnectedAt);
            }
        }
    }

    [Fact]
    public async Task A_ram_write_cache_keeps_a_reconnecting_clients_writes_and_puts_nothing_in_the_image()
    {
        await new DeviceAdmin(Site).SetAsync("pc2", new DeviceChanges(WriteCacheMode: "server-ram"));
        var before = await HashAsync(_base);
        var key = await BootAsync("52:54:00:00:00:02");
        await using (var view = await OpenAsync($"gold/pc2/{key}"))
        {
            Assert.Equal(WriteCacheMode.ServerRam, view.Facts.WriteCacheMode);
            await view.Device.WriteAsync(3 << 20, Fill(0x3C, 65536));
            await view.Device.FlushAsync();
        }

        var ended = Assert.Single(await new SiteQueries(Site).SessionsAsync(true));
        Assert.True(ended.WriteCacheBytes >= 65536, $"write cache {ended.WriteCacheBytes}");
        await using (var again = await OpenAsync($"gold/pc2/{key}"))
        {
            Assert.Equal(0x3C, await ByteAtAsync(again, 3 << 20));
        }

        Assert.Equal(before, await HashAsync(_base));
        Assert.False(File.Exists(Layer.OverlayPath("gold", "pc2", 1, await VersionIdAsync("gold", 1))));
    }

    [Fact]
    public async Task After_a_server_restart_a_disk_cache_reconnect_keeps_its_writes_and_a_ram_cache_reconnect_is_refused()
    {
        await new DeviceAdmin(Site).SetAsync("pc2", new DeviceChanges(WriteCacheMode: "server-ram"));
        var pc1Key = await BootAsync("52:54:00:00:00:01", "10.0.0.1");
        var pc2Key = await BootAsync("52:54:00:00:00:02", "10.0.0.2");
        var pc1 = await OpenAsync($"gold/pc1/{pc1Key}", "10.0.0.1:1");
        var pc2 = await OpenAsync($"gold/pc2/{pc2Key}", "10.0.0.2:1");
        await pc1.Device.WriteAsync(2 << 20, Fill(0x5A, 4096));
        await pc1.Device.FlushAsync();
        await pc2.Device.WriteAsync(2 << 20, Fill(0x6B, 4096));
        await pc2.Device.FlushAsync();

        await RestartAsync();
        await using (var again = await OpenAsync($"gold/pc1/{pc1Key}", "10.0.0.1:2"))
        {
            Assert.Equal(0x5A, await ByteAtAsync(again, 2 << 20));
        }

        var lost = await TryOpenAsync($"gold/pc2/{pc2Key}", "10.0.0.2:2");
        Assert.Equal(SessionRefusal.RamCacheLost, lost.Error?.Reason);
        Assert.Contains("write cache was lost when the server restarted; restart the client", lost.Error!.Message, StringComparison.Ordinal);
        Assert.Empty(await new SiteQueries(Site).SessionsAsync(false));

        // Its next boot starts clean.
        await using var next = await OpenAsync($"gold/pc2/{await BootAsync("52:54:00:00:00:02", "10.0.0.2")}", "10.0.0.2:3");
        Assert.Equal(0x11, await ByteAtAsync(next, 2 << 20));
    }

    [Fact]
    public async Task A_new_boot_of_a_machine_whose_old_connections_linger_ends_the_old_session_and_starts_clean()
    {
        var old = await OpenAsync($"gold/pc1/{await BootAsync("52:54:00:00:00:01")}");
        await old.Device.WriteAsync(1 << 20, Fill(0x4D, 4096));

        // Reset button: the machine asks for its boot script again and opens its disk with the new key; its old connection never closed.
        var key = await BootAsync("52:54:00:00:00:01");
        Assert.Single(await new SiteQueries(Site).SessionsAsync(false));
        await using (var fresh = await OpenAsync($"gold/pc1/{key}", Lab + ":40002"))
        {
            Assert.NotEqual(old.Facts.SessionId, fresh.Facts.SessionId);
            Assert.Equal(0x11, await ByteAtAsync(fresh, 1 << 20));
            await Assert.ThrowsAnyAsync<Exception>(async () => await old.Device.ReadAsync(0, new byte[512]));

            // The lingering connection finally goes (keepalive): the new session stays.
            await old.DisposeAsync();
            var live = Assert.Single(await new SiteQueries(Site).SessionsAsync(false));
            Assert.Equal(fresh.Facts.SessionId, live.Id);
        }
    }

    [Fact]
    public async Task Clients_of_one_version_read_each_block_from_storage_once()
    {
        foreach (var name in new[] { $"gold/pc1/{await BootAsync("52:54:00:00:00:01")}", $"gold/pc2/{await BootAsync("52:54:00:00:00:02", "10.0.0.2")}", "gold" })
        {
            await using var view = await OpenAsync(name, name.Contains("pc2", StringComparison.Ordinal) ? "10.0.0.2:1" : Lab + ":1");
            var buffer = new byte[1 << 20];
            await view.Device.ReadAsync(0, buffer);
            Assert.All(buffer, b => Assert.Equal(0x11, b));
        }

        var (hits, misses) = Layer.Images.Counters();
        Assert.True(misses > 0);
        Assert.True(hits >= 2 * misses, $"hits {hits}, misses {misses}");
    }

    [Fact]
    public async Task A_private_image_takes_the_writes_itself()
    {
        await new AssignmentAdmin(Site).AssignAsync("pc1", "own", makeDefault: false);
        var menu = await Layer.DecideAsync(new Streamboot.Sessions.Decisions.BootRequest("52:54:00:00:00:01", Lab, VDisk: "own"));
        var key = Assert.IsType<Streamboot.Sessions.Decisions.BootVDisk>(menu).Key;
        await using (var view = await OpenAsync($"own/pc1/{key}"))
        {
            Assert.Equal((WriteCacheMode.None, false), (view.Facts.WriteCacheMode, view.Facts.ReadOnly));
            await view.Device.WriteAsync(0, Fill(0x99, 512));
        }

        var file = Path.Combine(DataFolder, "vdisks", "own", "own.1.raw");
        Assert.Equal(0x99, (await File.ReadAllBytesAsync(file))[0]);
        Assert.False(Directory.Exists(Path.Combine(DataFolder, "cache", "own")));
    }

    [Fact]
    public async Task Client_side_write_caches_get_a_read_only_view()
    {
        await new DeviceAdmin(Site).SetAsync("tester", new DeviceChanges(WriteCacheMode: "client-disk"));
        await using (var local = await OpenAsync($"gold/tester/{await BootAsync("52:54:00:00:00:03", "10.0.0.3")}", "10.0.0.3:1"))
        {
            Assert.Equal((WriteCacheMode.ClientDisk, true), (local.Facts.WriteCacheMode, local.Facts.ReadOnly));
        }

        await new DeviceAdmin(Site).SetAsync("tester", new DeviceChanges(WriteCacheMode: "client-ram"));
        await using var ram = await OpenAsync($"gold/tester/{await BootAsync("52:54:00:00:00:03", "10.0.0.3")}", "10.0.0.3:2");
        Assert.Equal((WriteCacheMode.ClientRam, true), (ram.Facts.WriteCacheMode, ram.Facts.ReadOnly));
        await Assert.ThrowsAnyAsync<Exception>(async () => await ram.Device.WriteAsync(0, Fill(1, 512)));
    }

    [Fact]
    public async Task Unknown_unassigned_and_disabled_are_refused_and_open_nothing()
    {
        var key = await BootAsync("52:54:00:00:00:01");
        Assert.Equal(SessionRefusal.UnknownVDisk, (await TryOpenAsync("nope")).Error?.Reason);
        Assert.Equal(SessionRefusal.UnknownDevice, (await TryOpenAsync($"gold/ghost/{key}")).Error?.Reason);
        Assert.Equal(SessionRefusal.BadName, (await TryOpenAsync("gold/pc1/not-a-key")).Error?.Reason);
        Assert.Equal(SessionRefusal.BadName, (await TryOpenAsync("a/b/c/d")).Error?.Reason);
        Assert.Equal(SessionRefusal.BadName, (await TryOpenAsync(new string('x', 300))).Error?.Reason);
        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:09", new DeviceChanges(Name: "stranger"));
        var unassigned = await TryOpenAsync($"gold/stranger/{key}");
        Assert.Equal(SessionRefusal.NotAssigned, unassigned.Error?.Reason);
        Assert.Equal(SessionRefusal.NotAssigned, (await TryOpenAsync($"own/pc2/{key}")).Error?.Reason);
        await new AssignmentAdmin(Site).AssignAsync("pc1", "own", makeDefault: false);
        // pc1's key is for gold: it opens no other vDisk of pc1.
        Assert.Equal(SessionRefusal.NotAssigned, (await TryOpenAsync($"own/pc1/{key}")).Error?.Reason);
        await new DeviceAdmin(Site).SetAsync("pc1", new DeviceChanges(Enabled: false));
        Assert.Equal(SessionRefusal.DeviceDisabled, (await TryOpenAsync($"gold/pc1/{key}")).Error?.Reason);
        Assert.Empty(await new SiteQueries(Site).SessionsAsync(includeEnded: true));
    }

    [Fact]
    public async Task A_challenge_is_proved_by_the_key_of_one_of_the_devices_boots_and_by_nothing_else()
    {
        var first = await BootAsync("52:54:00:00:00:01", "10.0.0.1");
        var second = await BootAsync("52:54:00:00:00:01", "10.0.0.1");
        var tried = new List<string>();
        var proved = await Layer.ProveKeyAsync("gold", "pc1", key =>
        {
            tried.Add(key);
            return key == first;
        });
        Assert.Equal(first, proved.Value);
        // Every candidate is tried, whichever matched.
        Assert.Equal(2, tried.Count);
        Assert.Contains(second, tried);
        Assert.Equal(SessionRefusal.KeyRejected, (await Layer.ProveKeyAsync("gold", "pc1", _ => false)).Error?.Reason);
        Assert.Equal(SessionRefusal.KeyRejected, (await Layer.ProveKeyAsync("gold", "pc2", key => key == first)).Error?.Reason);
        Assert.Equal(SessionRefusal.UnknownDevice, (await Layer.ProveKeyAsync("gold", "nobody", _ => true)).Error?.Reason);
        Assert.Equal(SessionRefusal.NotAssigned, (await Layer.ProveKeyAsync("own", "pc1", _ => true)).Error?.Reason);
        // The proved key opens the device's own view.
        await using var view = await OpenAsync($"gold/pc1/{proved.Value}", "10.0.0.1:1");
        Assert.Equal("pc1", view.Facts.Device);
    }

    [Fact]
    public async Task Sessions_and_views_of_a_version_deleted_under_them_end_and_its_image_closes()
    {
        await using var pc1 = await OpenAsync($"gold/pc1/{await BootAsync("52:54:00:00:00:01")}");
        await using var view = await OpenAsync("gold", "10.0.0.3:1");
        var id = await VersionIdAsync("gold", 1);
        Assert.Contains(id, Layer.Images.Ids());
        Assert.Equal(0, await Layer.EndDeletedVersionsAsync(CancellationToken.None));

        // As another process would: the rows go (a vDisk deleted takes its versions).
        await using (var db = Site.Database.CreateContext())
        {
            await db.Sessions.ExecuteDeleteAsync();
            await db.VDisks.Where(v => v.Name == "gold").ExecuteDeleteAsync();
        }

        Assert.Equal(2, await Layer.EndDeletedVersionsAsync(CancellationToken.None));
        Assert.True(pc1.Ended && view.Ended);
        var error = await Assert.ThrowsAsync<Streamboot.Storage.BlockDevices.BlockDeviceException>(async () => await ByteAtAsync(view, 0));
        Assert.Contains("was deleted", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<Streamboot.Storage.BlockDevices.BlockDeviceException>(async () => await ByteAtAsync(pc1, 0));
        Assert.DoesNotContain(id, Layer.Images.Ids());
        Assert.Equal(0, Layer.LiveCount);
    }

    private async Task<long> VersionIdAsync(string vdisk, int number)
    {
        await using var db = Site.Database.CreateContext();
        return db.VDiskVersions.Single(v => v.VDisk!.Name == vdisk && v.Number == number).Id;
    }
}

public sealed class SqliteViewTests : ViewTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.SqliteAsync(dataFolder);
}

public sealed class PostgresViewTests : ViewTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.PostgresAsync();
}
