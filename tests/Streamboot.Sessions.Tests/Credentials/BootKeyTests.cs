using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Credentials;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Tests.Support;
using Streamboot.Testing;

namespace Streamboot.Sessions.Tests.Credentials;

/// <summary>
/// Per-boot keys: what a hostile machine on the boot network can and cannot
/// do knowing only a MAC or a device name, and that the real machine's boot
/// is never disturbed by it. On SQLite and PostgreSQL.
/// </summary>
public abstract class BootKeyTests : SessionSiteTests
{
    private const string Victim = "52:54:00:00:00:01";
    private const string Attacker = "10.0.0.66";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var vdisk = await new VDiskAdmin(Site).CreateAsync("gold", 32L << 20, format: "qcow2");
        await QemuImg.IoAsync("qcow2", Path.Combine(vdisk.Value!.StorePath, "gold.1.qcow2"), "write -P 0x11 0 4M");
        await new DeviceAdmin(Site).AddAsync(Victim, new DeviceChanges(Name: "pc1"));
        await new AssignmentAdmin(Site).AssignAsync("pc1", "gold", false);
        await new DeviceAdmin(Site).AddAsync("52:54:00:00:00:02", new DeviceChanges(Name: "pc2"));
        await new AssignmentAdmin(Site).AssignAsync("pc2", "gold", false);
    }

    [Fact]
    public async Task Keys_are_128_random_bits_in_hex_and_match_only_themselves()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => BootKey.New()).ToList();
        Assert.Equal(1000, keys.Distinct().Count());
        Assert.All(keys, k => Assert.True(BootKey.IsWellFormed(k), k));
        Assert.True(BootKey.Matches(keys[0], keys[0]));
        Assert.False(BootKey.Matches(keys[0], keys[1]));
        Assert.False(BootKey.Matches(keys[0], keys[0][..31]));
        Assert.False(BootKey.Matches(keys[0], keys[0].ToUpperInvariant()) && keys[0] != keys[0].ToUpperInvariant());
        Assert.False(BootKey.IsWellFormed("../../etc/passwd/aaaaaaaaaaaaaaaa"));
    }

    [Fact]
    public async Task A_device_view_without_its_boots_key_is_refused_and_tells_nothing()
    {
        var key = await BootAsync(Victim);
        await using var running = await OpenAsync($"gold/pc1/{key}");
        await running.Device.WriteAsync(0, Fill(0x42, 4096));

        foreach (var name in new[] { "gold/pc1", "gold/52:54:00:00:00:01", $"gold/pc1/{BootKey.New()}", $"gold/pc2/{key}" })
        {
            var refused = await TryOpenAsync(name, Attacker + ":5000");
            Assert.False(refused.Ok, name);
            Assert.Contains(refused.Error!.Reason, new[] { SessionRefusal.KeyRequired, SessionRefusal.KeyRejected });
            Assert.DoesNotContain(Lab, refused.Error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(key, refused.Error.Message, StringComparison.Ordinal);
        }

        // The real machine streams on, its data intact, one live session.
        Assert.Equal(0x42, await ByteAtAsync(running, 0));
        Assert.Single(await new SiteQueries(Site).SessionsAsync(includeEnded: false));
        Assert.DoesNotContain(Log.Lines, l => l.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Asking_for_a_boot_script_changes_nothing_a_running_client_depends_on()
    {
        var key = await BootAsync(Victim);
        await using (var view = await OpenAsync($"gold/pc1/{key}"))
        {
            await view.Device.WriteAsync(1 << 20, Fill(0x5C, 4096));
            await view.Device.FlushAsync();
        }

        // A network blip: no live connection. Someone else asks for pc1's boot script, many times.
        string? stolen = null;
        for (var i = 0; i < 20; i++)
        {
            stolen = await BootAsync(Victim, Attacker);
        }

        // The real machine reconnects with its key: same boot, its writes there.
        await using (var again = await OpenAsync($"gold/pc1/{key}"))
        {
            Assert.Equal(0x5C, await ByteAtAsync(again, 1 << 20));
        }

        // The fetched key cannot start a new boot from elsewhere while the real one just streamed.
        var takeover = await TryOpenAsync($"gold/pc1/{stolen}", Attacker + ":5000");
        Assert.Equal(SessionRefusal.PreviousBootRunning, takeover.Error?.Reason);
        await using var still = await OpenAsync($"gold/pc1/{key}");
        Assert.Equal(0x5C, await ByteAtAsync(still, 1 << 20));
    }

    [Fact]
    public async Task A_boots_key_dies_when_the_next_boot_really_starts_and_not_before()
    {
        var first = await BootAsync(Victim);
        await (await OpenAsync($"gold/pc1/{first}")).DisposeAsync();
        var second = await BootAsync(Victim);
        // Issued, not started: the first boot's key still works.
        await (await OpenAsync($"gold/pc1/{first}")).DisposeAsync();

        await (await OpenAsync($"gold/pc1/{second}")).DisposeAsync();
        Assert.Equal(SessionRefusal.KeyRejected, (await TryOpenAsync($"gold/pc1/{first}")).Error?.Reason);
        await (await OpenAsync($"gold/pc1/{second}")).DisposeAsync();
    }

    [Fact]
    public async Task A_boots_key_survives_a_server_restart()
    {
        var key = await BootAsync(Victim);
        await using (var view = await OpenAsync($"gold/pc1/{key}"))
        {
            await view.Device.WriteAsync(0, Fill(0x61, 4096));
            await view.Device.FlushAsync();
        }

        await RestartAsync();
        await using var again = await OpenAsync($"gold/pc1/{key}");
        Assert.Equal(0x61, await ByteAtAsync(again, 0));
    }

    [Fact]
    public async Task A_flood_of_boot_scripts_keeps_few_rows_and_never_the_real_machines_key_out()
    {
        var real = await BootAsync(Victim);
        for (var i = 0; i < 60; i++)
        {
            await BootAsync(Victim, $"10.0.1.{i % 3}");
        }

        await using (var db = Site.Database.CreateContext())
        {
            var rows = db.Boots.Count();
            Assert.True(rows <= Settings.MaxPendingBootsPerDevice, $"{rows} boot rows");
            Assert.True(db.Boots.Count(b => b.IssuedTo == "10.0.1.0") <= Settings.MaxPendingBootsPerAddress);
        }

        await using var view = await OpenAsync($"gold/pc1/{real}");
        Assert.Equal(0x11, await ByteAtAsync(view, 0));
    }

    [Fact]
    public async Task The_connections_of_a_new_boot_opening_at_once_share_one_session()
    {
        var key = await BootAsync(Victim);
        var views = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => OpenAsync($"gold/pc1/{key}", $"{Lab}:{41000 + i}")));
        Assert.Single(views.Select(v => v.Facts.SessionId).Distinct());
        await views[0].Device.WriteAsync(0, Fill(0x33, 512));
        Assert.Equal(0x33, await ByteAtAsync(views[3], 0));
        foreach (var view in views)
        {
            await view.DisposeAsync();
        }

        Assert.Single(await new SiteQueries(Site).SessionsAsync(includeEnded: true));
    }

    [Fact]
    public async Task Another_connection_of_a_running_boot_joins_it_from_memory_and_nothing_else_does()
    {
        var key = await BootAsync(Victim);
        await using var first = await OpenAsync($"gold/pc1/{key}");
        await first.Device.WriteAsync(0, Fill(0x5A, 512));

        // The device is disabled while it runs: its running boot keeps its
        // connections and may add more (the join reads no row), spelled by
        // name or by MAC in any case; its next boot is refused.
        await new DeviceAdmin(Site).SetAsync("pc1", new DeviceChanges(Enabled: false));
        await using var byName = await OpenAsync($"GOLD/PC1/{key}", Lab + ":40001");
        await using var byMac = await OpenAsync($"gold/52-54-00-00-00-01/{key}", Lab + ":40002");
        Assert.Equal(first.Facts.SessionId, byName.Facts.SessionId);
        Assert.Equal(first.Facts.SessionId, byMac.Facts.SessionId);
        Assert.Equal(0x5A, await ByteAtAsync(byMac, 0));

        // Only the running boot's own key, from its own host, for its own vDisk: the rest go the full way and are refused.
        Assert.Equal(SessionRefusal.DeviceDisabled, (await TryOpenAsync($"gold/pc1/{BootKey.New()}")).Error?.Reason);
        Assert.Equal(SessionRefusal.DeviceDisabled, (await TryOpenAsync($"gold/pc1/{key}", Attacker + ":40003")).Error?.Reason);
        await new DeviceAdmin(Site).SetAsync("pc1", new DeviceChanges(Enabled: true));
        Assert.Equal(SessionRefusal.IdentityInUse, (await TryOpenAsync($"gold/pc1/{key}", Attacker + ":40003")).Error?.Reason);
        Assert.Equal(SessionRefusal.KeyRejected, (await TryOpenAsync($"gold/pc2/{key}")).Error?.Reason);
        Assert.Equal(SessionRefusal.UnknownVDisk, (await TryOpenAsync($"other/pc1/{key}")).Error?.Reason);

        // Once its last connection is gone, nothing is left in memory to join: a reconnect takes the full path again.
        await byName.DisposeAsync();
        await byMac.DisposeAsync();
        await first.DisposeAsync();
        await new DeviceAdmin(Site).SetAsync("pc1", new DeviceChanges(Enabled: false));
        Assert.Equal(SessionRefusal.DeviceDisabled, (await TryOpenAsync($"gold/pc1/{key}")).Error?.Reason);
        Assert.Single(await new SiteQueries(Site).SessionsAsync(includeEnded: true));
    }

    [Fact]
    public async Task A_machine_reset_from_its_own_address_starts_its_new_boot_at_once()
    {
        var old = await OpenAsync($"gold/pc1/{await BootAsync(Victim)}");
        await old.Device.WriteAsync(0, Fill(0x77, 512));
        await using var fresh = await OpenAsync($"gold/pc1/{await BootAsync(Victim)}", Lab + ":40009");
        Assert.Equal(0x11, await ByteAtAsync(fresh, 0));

        // The old boot's connections were still open (power loss): its session is ended, and said so.
        Assert.NotEqual(old.Facts.SessionId, fresh.Facts.SessionId);
        var sessions = await new SiteQueries(Site).SessionsAsync(includeEnded: true);
        Assert.NotNull(sessions.Single(s => s.Id == old.Facts.SessionId).EndedAt);
        Assert.Null(sessions.Single(s => s.Id == fresh.Facts.SessionId).EndedAt);
        Assert.Contains(Log.Lines, l => l.Contains($"Session {old.Facts.SessionId} of pc1 ended: a new boot of the machine started", StringComparison.Ordinal));
        await old.DisposeAsync();
    }

    [Fact]
    public async Task Boot_scripts_go_only_to_the_address_leased_to_the_mac_when_asked()
    {
        await RestartAsync(Settings with { ScriptsOnlyToLeasedAddress = true });
        await using (var db = Site.Database.CreateContext())
        {
            db.DhcpLeases.Add(new DhcpLeaseRow { Address = Lab, Mac = Victim, State = "bound", ExpiresAt = DateTime.UtcNow.AddHours(1), UpdatedAt = DateTime.UtcNow });
            db.DhcpLeases.Add(new DhcpLeaseRow { Address = "10.0.0.20", Mac = "52:54:00:00:00:02", State = "released", ExpiresAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }

        Assert.IsType<BootVDisk>(await Layer.DecideAsync(new BootRequest(Victim, Lab)));
        var stranger = Assert.IsType<BootRefused>(await Layer.DecideAsync(new BootRequest(Victim, Attacker)));
        Assert.Equal(BootRefusal.NotLeased, stranger.Reason);
        Assert.Equal(BootRefusal.NotLeased, Assert.IsType<BootRefused>(await Layer.DecideAsync(new BootRequest("52:54:00:00:00:02", "10.0.0.20"))).Reason);

        // A reserved address counts as leased.
        await new DeviceAdmin(Site).SetAsync("pc2", new DeviceChanges(IpAddress: "10.0.0.30"));
        Assert.IsType<BootVDisk>(await Layer.DecideAsync(new BootRequest("52:54:00:00:00:02", "10.0.0.30")));
    }

    [Fact]
    public async Task A_vdisk_can_refuse_its_anonymous_view_and_boot_files()
    {
        Assert.True((await TryOpenAsync("gold")).Ok);
        Assert.Contains(("gold", (string?)null), await Layer.ListAsync());
        Assert.True((await Layer.BootFilesAsync(new BootFilesRequest("gold", null))).Ok);
        await using (var db = Site.Database.CreateContext())
        {
            db.VDisks.Single(v => v.Name == "gold").AnonymousReads = false;
            await db.SaveChangesAsync();
        }

        Assert.Equal(SessionRefusal.AnonymousReadsOff, (await TryOpenAsync("gold")).Error?.Reason);
        Assert.Empty(await Layer.ListAsync());
        Assert.Equal(SessionRefusal.KeyRequired, (await Layer.BootFilesAsync(new BootFilesRequest("gold", null))).Error?.Reason);
        Assert.Equal(SessionRefusal.KeyRequired, (await Layer.BootFilesAsync(new BootFilesRequest("gold", BootKey.New()))).Error?.Reason);
        var key = await BootAsync(Victim);
        Assert.True((await Layer.BootFilesAsync(new BootFilesRequest("gold", key))).Ok);
        await using var own = await OpenAsync($"gold/pc1/{key}");
        Assert.Equal(0x11, await ByteAtAsync(own, 0));
    }

    [Fact]
    public async Task With_keys_off_a_plain_device_view_joins_the_running_boot()
    {
        await RestartAsync(Settings with { RequireBootKey = false });
        await using (var view = await OpenAsync("gold/pc1"))
        {
            await view.Device.WriteAsync(0, Fill(0x24, 512));
        }

        await using (var again = await OpenAsync("gold/pc1"))
        {
            Assert.Equal(0x24, await ByteAtAsync(again, 0));
        }

        // A boot script still begins a new boot at its first open.
        await BootAsync(Victim);
        await using var next = await OpenAsync("gold/pc1");
        Assert.Equal(0x11, await ByteAtAsync(next, 0));
    }
}

public sealed class SqliteBootKeyTests : BootKeyTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.SqliteAsync(dataFolder);
}

public sealed class PostgresBootKeyTests : BootKeyTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.PostgresAsync();
}
