using Microsoft.EntityFrameworkCore;
using Streamboot.Admin;
using Streamboot.Admin.Rebalancing;
using Streamboot.Data;
using Streamboot.Sessions.Tests.Support;
using Streamboot.Sessions.Views;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Sessions.Tests.Farm;

/// <summary>
/// A server's side of rebalancing, with two session layers standing for
/// servers a and b of one farm: a moves its excess on its own, and what an
/// admin asked it to move; a moved session's connections are dropped, never
/// answered with errors, its reconnects to a are refused as temporary, and
/// b continues it on the same write cache.
/// </summary>
public sealed class SessionRebalancingTests : SessionSiteTests
{
    private static readonly SessionSettings Farm = new()
    {
        BootingWindow = TimeSpan.FromSeconds(1),
        RebalanceInterval = TimeSpan.FromMilliseconds(1),
        RebalanceTriggerPercent = 20,
        MovedRefusal = TimeSpan.FromSeconds(30),
    };

    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.SqliteAsync(dataFolder);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await new VDiskAdmin(Site).CreateAsync("gold", 16L << 20, format: "qcow2");
        foreach (var (mac, name) in new[] { ("52:54:00:00:00:01", "pc1"), ("52:54:00:00:00:02", "pc2"), ("52:54:00:00:00:03", "pc3") })
        {
            await new DeviceAdmin(Site).AddAsync(mac, new DeviceChanges(Name: name));
            await new AssignmentAdmin(Site).AssignAsync(name, "gold", false);
        }

        await new DeviceAdmin(Site).SetAsync("pc2", new DeviceChanges(WriteCacheMode: "server-ram"));
    }

    [Fact]
    public async Task An_overloaded_server_moves_its_newest_movable_session_which_another_server_continues_and_an_admins_request_moves_the_rest()
    {
        var (a, b) = await ServersAsync();
        await using var onA = new SessionLayer(Site, Farm, ProfileSettings, () => a, Log);
        await using var onB = new SessionLayer(Site, Farm, ProfileSettings, () => b, Log);
        var keys = new Dictionary<string, string>();
        var views = new Dictionary<string, SessionView>();
        foreach (var (device, mac) in new[] { ("pc1", "52:54:00:00:00:01"), ("pc2", "52:54:00:00:00:02"), ("pc3", "52:54:00:00:00:03") })
        {
            keys[device] = await BootAsync(mac);
            var opened = await onA.OpenAsync(new ViewRequest($"gold/{device}/{keys[device]}", "nbd", Lab + ":1"));
            Assert.True(opened.Ok, opened.Error?.Message);
            views[device] = opened.Value;
            await Task.Delay(20); // distinct start times: pc3 is the newest
        }

        await views["pc3"].Device.WriteAsync(0, Fill(0xC3, 4096));
        await Task.Delay(Farm.BootingWindow + TimeSpan.FromMilliseconds(200));

        // a holds 3 of 3 with a share of 1.5: more than 20 % over; one goes, the newest that may.
        await onA.MaintainAsync(CancellationToken.None); // the first check is one interval after start
        await Task.Delay(20);
        await onA.MaintainAsync(CancellationToken.None);
        Assert.True(views["pc3"].Ended);
        Assert.True(views["pc3"].Moved.IsCancellationRequested, "the moved session's idle connections are not told to close");
        Assert.False(views["pc1"].Moved.IsCancellationRequested);
        Assert.False(views["pc1"].Ended);
        Assert.False(views["pc2"].Ended);
        var dropped = await Assert.ThrowsAsync<BlockDeviceException>(async () => await views["pc3"].Device.ReadAsync(0, new byte[512]));
        Assert.Equal(BlockDeviceError.Moved, dropped.Error);
        Assert.Contains(Log.Lines, l => l.Contains("moved off this server (automatic rebalance", StringComparison.Ordinal));

        // Its client comes back to a first: told to go elsewhere, as a temporary refusal.
        var again = await onA.OpenAsync(new ViewRequest($"gold/pc3/{keys["pc3"]}", "nbd", Lab + ":2"));
        Assert.False(again.Ok);
        Assert.Equal((SessionRefusal.MovedAway, SessionErrorKind.Unavailable), (again.Error.Reason, again.Error.Kind));

        // b takes it, with what it wrote through a.
        var onb = await onB.OpenAsync(new ViewRequest($"gold/pc3/{keys["pc3"]}", "nbd", Lab + ":3"));
        Assert.True(onb.Ok, onb.Error?.Message);
        Assert.Equal(0xC3, await ByteAtAsync(onb.Value, 0));
        Assert.Equal(b, await ServerOfLiveSessionAsync("pc3"));

        // 'drain a --move': pc1 goes; pc2 writes into a's RAM and stays.
        var drain = await new ServerRebalance(Site, Farm.ServerDownAfter, Farm.BootingWindow).DrainAndMoveAsync("a");
        Assert.Equal(["pc1"], drain.Value!.Moves.Select(m => m.Device));
        await onA.MaintainAsync(CancellationToken.None);
        Assert.True(views["pc1"].Ended);
        Assert.False(views["pc2"].Ended);
        Assert.Null(await ServerOfLiveSessionAsync("pc1"));
        Assert.Equal(a, await ServerOfLiveSessionAsync("pc2"));
        await using (var db = Site.Database.CreateContext())
        {
            Assert.False(await db.Sessions.AnyAsync(s => s.MoveRequestedAt != null), "a request was left on a row");
        }

        await onb.Value.DisposeAsync();
        foreach (var view in views.Values)
        {
            await view.DisposeAsync();
        }
    }

    private async Task<(long A, long B)> ServersAsync()
    {
        await using var db = Site.Database.CreateContext();
        var now = Site.UtcNow;
        var a = new Data.Model.Server { Name = "a", StartedAt = now, LastHeartbeatAt = now.AddHours(1), NbdPort = 10809 };
        var b = new Data.Model.Server { Name = "b", StartedAt = now, LastHeartbeatAt = now.AddHours(1), NbdPort = 10809 };
        db.AddRange(a, b);
        await db.SaveChangesAsync();
        return (a.Id, b.Id);
    }

    private async Task<long?> ServerOfLiveSessionAsync(string device)
    {
        await using var db = Site.Database.CreateContext();
        return await db.Sessions.Where(s => s.Device!.Name == device && s.EndedAt == null).Select(s => s.ServerId).FirstOrDefaultAsync();
    }
}
