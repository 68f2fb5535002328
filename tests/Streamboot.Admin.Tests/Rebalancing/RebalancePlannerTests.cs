using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Rebalancing;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin.Tests.Rebalancing;

/// <summary>The rebalancing plan: shares by weight, what never moves, and the boot-storm skip.</summary>
public sealed class RebalancePlannerTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static RebalanceServer Server(long id, int weight = 1, bool enabled = true, bool running = true) => new(id, $"s{id}", weight, enabled, running);

    private static IEnumerable<RebalanceSession> On(long server, int count, long firstId, bool booting = false, string? unmovable = null) =>
        Enumerable.Range(0, count).Select(i => new RebalanceSession(firstId + i, firstId + i, $"pc-{firstId + i}", server, T0.AddMinutes(firstId + i), booting, unmovable));

    [Fact]
    public void An_overloaded_server_gives_up_its_excess_over_its_weighted_share_newest_first()
    {
        // 12 sessions, weights 1/1/2: shares 3, 3, 6. s1 holds 8: 5 too many.
        var input = new RebalanceInput([Server(1), Server(2), Server(3, weight: 2)], [.. On(1, 8, 1), .. On(2, 2, 100), .. On(3, 2, 200)], BootingClients: 0, Clients: 12);
        var plan = RebalancePlanner.Plan(input, triggerPercent: 0);

        Assert.Null(plan.Skipped);
        Assert.Equal([8L, 7, 6, 5, 4], plan.Moves.Select(m => m.SessionId));
        Assert.All(plan.Moves, m => Assert.Equal("s1", m.Server));
        Assert.Equal(6.0, plan.Shares.Single(s => s.Server == "s3").Share, 3);
    }

    [Fact]
    public void Booting_and_server_ram_sessions_never_move_and_drained_or_down_servers_get_no_share()
    {
        var input = new RebalanceInput(
            [Server(1), Server(2), Server(3, enabled: false), Server(4, running: false)],
            [.. On(1, 2, 1), .. On(1, 2, 10, booting: true), .. On(1, 2, 20, unmovable: "ram"), .. On(3, 5, 30), .. On(4, 5, 40)],
            BootingClients: 2,
            Clients: 16);
        var plan = RebalancePlanner.Plan(input, triggerPercent: 0);

        // Only s1 and s2 share s1's 6 sessions (the drained one's stay where they are): s1 should hold 3 and may give 3,
        // but only its two movable, non-booting ones can go.
        Assert.Equal(3.0, plan.Shares.Single(s => s.Server == "s1").Share, 3);
        Assert.DoesNotContain(plan.Shares, s => s.Server is "s3" or "s4");
        Assert.Equal([2L, 1], plan.Moves.Select(m => m.SessionId));
    }

    [Fact]
    public void The_trigger_percentage_lets_a_server_hold_a_little_more_than_its_share()
    {
        // Shares 5 and 5: s1 at 6 is 20 % over, not more.
        var input = new RebalanceInput([Server(1), Server(2)], [.. On(1, 6, 1), .. On(2, 4, 100)], 0, 10);
        Assert.Empty(RebalancePlanner.Plan(input, triggerPercent: 20).Moves);
        Assert.Equal([6L], RebalancePlanner.Plan(input, triggerPercent: 0).Moves.Select(m => m.SessionId));

        // At 7 it is 40 % over: it moves down to its share.
        var more = input with { Sessions = [.. On(1, 7, 1), .. On(2, 3, 100)] };
        Assert.Equal([7L, 6], RebalancePlanner.Plan(more, triggerPercent: 20).Moves.Select(m => m.SessionId));
        Assert.Empty(RebalancePlanner.Plan(more, triggerPercent: 20, only: 2).Moves);
    }

    [Fact]
    public void Nothing_moves_while_more_than_a_fifth_of_the_clients_are_booting()
    {
        var sessions = On(1, 10, 1).ToList();
        var calm = new RebalanceInput([Server(1), Server(2)], sessions, BootingClients: 2, Clients: 10);
        Assert.Equal(5, RebalancePlanner.Plan(calm, 0).Moves.Count);

        var storm = calm with { BootingClients = 3 };
        var plan = RebalancePlanner.Plan(storm, 0);
        Assert.Empty(plan.Moves);
        Assert.Contains("3 of the farm's 10 clients are booting", plan.Skipped, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_server_or_a_single_session_has_nowhere_better_to_go()
    {
        Assert.Empty(RebalancePlanner.Plan(new RebalanceInput([Server(1)], [.. On(1, 4, 1)], 0, 4), 0).Moves);
        Assert.Empty(RebalancePlanner.Plan(new RebalanceInput([Server(1), Server(2, weight: 1000)], [.. On(1, 1, 1)], 0, 1), 0).Moves);
    }

    [Fact]
    public void Draining_with_move_takes_every_movable_non_booting_session_unless_no_other_server_takes_boots()
    {
        var sessions = (List<RebalanceSession>)[.. On(1, 3, 1), .. On(1, 1, 10, booting: true), .. On(1, 1, 20, unmovable: "ram")];
        var plan = RebalancePlanner.Drain(new RebalanceInput([Server(1, enabled: false), Server(2)], sessions, 1, 5), 1);
        Assert.Equal([3L, 2, 1], plan.Moves.Select(m => m.SessionId));
        Assert.All(plan.Moves, m => Assert.Equal("drain", m.Reason));

        var alone = RebalancePlanner.Drain(new RebalanceInput([Server(1, enabled: false), Server(2, enabled: false)], sessions, 1, 5), 1);
        Assert.Empty(alone.Moves);
        Assert.NotNull(alone.Skipped);
    }

    [Theory]
    [InlineData(WriteCacheMode.ServerRam, "nbd", false)]
    [InlineData(WriteCacheMode.ServerDisk, "nbd", true)]
    [InlineData(WriteCacheMode.None, "nbd", true)]
    [InlineData(WriteCacheMode.ClientDisk, "nbd", true)]
    [InlineData(WriteCacheMode.ServerDisk, "iscsi", false)]
    public void Only_nbd_sessions_without_a_server_ram_cache_can_move(WriteCacheMode mode, string protocol, bool movable) =>
        Assert.Equal(movable, ServerRebalance.UnmovableBecause(mode, protocol) is null);
}

/// <summary>The plan read from a real database, and the move requests written to it.</summary>
public sealed class ServerRebalanceTests : SiteTests
{
    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Task.FromResult(DatabaseLocation.InDataFolder(dataFolder));

    [Fact]
    public async Task Rebalance_reads_booting_clients_and_caches_from_the_database_and_marks_the_rows_it_moves()
    {
        var now = Site.UtcNow;
        long a;
        await using (var db = Site.Database.CreateContext())
        {
            var sa = new Data.Model.Server { Name = "a", LastHeartbeatAt = now, StartedAt = now };
            var sb = new Data.Model.Server { Name = "b", LastHeartbeatAt = now, StartedAt = now };
            var gone = new Data.Model.Server { Name = "gone", LastHeartbeatAt = now.AddMinutes(-5), StartedAt = now.AddHours(-1) };
            var vdisk = new VDisk { Name = "gold", StorePath = "gold", SizeBytes = 1 << 20 };
            var collection = new Collection { Name = "lab", NamingPattern = "PC-##" };
            db.AddRange(sa, sb, gone, vdisk, collection);
            await db.SaveChangesAsync();
            a = sa.Id;
            for (var i = 1; i <= 6; i++)
            {
                var device = new Device { Name = $"pc-{i}", Mac = $"52:54:00:00:00:{i:x2}", CollectionId = collection.Id, MachineId = Guid.NewGuid() };
                db.Add(device);
                await db.SaveChangesAsync();
                // pc-1..4 on a (pc-4 booted 10 s ago, pc-3 writes into a's RAM), pc-5 on b, pc-6 on the server that is gone.
                var mode = i == 3 ? WriteCacheMode.ServerRam : WriteCacheMode.ServerDisk;
                db.Add(new Session { DeviceId = device.Id, VDiskId = vdisk.Id, ServerId = i <= 4 ? a : i == 5 ? sb.Id : gone.Id, Protocol = "nbd", WriteCacheMode = mode, StartedAt = now.AddMinutes(-60 + i), LastActivityAt = now });
                db.Add(new Boot { DeviceId = device.Id, Key = $"k{i}", VDiskId = vdisk.Id, IssuedAt = now.AddMinutes(i == 4 ? 0 : -70), StartedAt = now.AddSeconds(i == 4 ? -10 : -4000), ServerId = a });
            }

            await db.SaveChangesAsync();
        }

        var rebalance = new ServerRebalance(Site, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90));
        var input = await rebalance.LoadAsync();
        Assert.False(input.Servers.Single(s => s.Name == "gone").Running);
        Assert.True(input.Sessions.Single(s => s.Device == "pc-4").Booting);
        Assert.NotNull(input.Sessions.Single(s => s.Device == "pc-3").Unmovable);
        Assert.Equal(1, input.BootingClients);

        // a holds 4 of the 5 live sessions of a and b: share 2.5, so 1 too many... and pc-2 is its only newest movable one.
        var dry = await rebalance.RebalanceAsync(dryRun: true);
        Assert.Equal(["pc-2"], dry.Moves.Select(m => m.Device));
        await using (var db = Site.Database.CreateContext())
        {
            Assert.False(await db.Sessions.AnyAsync(s => s.MoveRequestedAt != null));
        }

        var plan = await rebalance.RebalanceAsync(dryRun: false);
        Assert.Equal(["pc-2"], plan.Moves.Select(m => m.Device));
        await using (var db = Site.Database.CreateContext())
        {
            var marked = await db.Sessions.Where(s => s.MoveRequestedAt != null).Select(s => new { s.Device!.Name, s.MoveReason }).ToListAsync();
            Assert.Equal("pc-2", Assert.Single(marked).Name);
            Assert.Equal("rebalance", marked[0].MoveReason);
        }

        var drained = await rebalance.DrainAndMoveAsync("A");
        Assert.True(drained.Ok);
        Assert.Equal(["pc-2", "pc-1"], drained.Value.Moves.Select(m => m.Device));
        Assert.False((await rebalance.DrainAndMoveAsync("nope")).Ok);
    }
}
