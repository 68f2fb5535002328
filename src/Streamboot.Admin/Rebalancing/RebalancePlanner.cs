namespace Streamboot.Admin.Rebalancing;

/// <summary>A server as the rebalancing plan sees it.</summary>
public sealed record RebalanceServer(long Id, string Name, int Weight, bool Enabled, bool Running);

/// <summary>
/// A live device session as the plan sees it. <see cref="Unmovable"/> says
/// why it can never move (its write cache is in its server's RAM, or its
/// protocol has no client that reconnects elsewhere); null when it can.
/// </summary>
public sealed record RebalanceSession(long SessionId, long DeviceId, string Device, long ServerId, DateTime StartedAt, bool Booting, string? Unmovable);

/// <summary>The farm now: its servers, live sessions, and how many of its clients are booting.</summary>
public sealed record RebalanceInput(IReadOnlyList<RebalanceServer> Servers, IReadOnlyList<RebalanceSession> Sessions, int BootingClients, int Clients);

/// <summary>One session to move off its server; the client picks the receiving server from its list.</summary>
public sealed record RebalanceMove(long SessionId, long DeviceId, string Device, long ServerId, string Server, string Reason);

/// <summary>A server's sessions against its fair share by weight (drained and down servers have none).</summary>
public sealed record ServerShare(string Server, int Sessions, double Share, int Excess, int Booting, int Unmovable);

/// <summary>What a rebalance would do; <see cref="Skipped"/> says why it does nothing, when it does nothing on purpose.</summary>
public sealed record RebalancePlan(IReadOnlyList<ServerShare> Shares, IReadOnlyList<RebalanceMove> Moves, string? Skipped);

/// <summary>
/// Rebalancing as Citrix Provisioning does it: each running enabled server's
/// fair share of the farm's live sessions is proportional to its weight; a
/// server holding more than its share plus the trigger percentage gives up
/// the excess, newest sessions first (they have the least warm cache to
/// lose). A client that is booting is never moved, nor one whose write
/// cache lives in its server's RAM; and while more than
/// <see cref="MaxBootingPercent"/> of the farm's clients are booting (a boot
/// storm), nothing moves at all. Pure: the same input gives the same plan.
/// </summary>
public static class RebalancePlanner
{
    public const int MaxBootingPercent = 20;

    /// <param name="input">The farm now.</param>
    /// <param name="triggerPercent">How far above its share a server may be before it gives sessions up (0: any excess).</param>
    /// <param name="only">Plan only this server's moves (a server's own automatic check); null: every server.</param>
    public static RebalancePlan Plan(RebalanceInput input, int triggerPercent, long? only = null)
    {
        var eligible = input.Servers.Where(s => s.Running && s.Enabled).ToList();
        var onEligible = input.Sessions.Where(s => eligible.Any(e => e.Id == s.ServerId)).ToList();
        var total = onEligible.Count;
        var weights = eligible.Sum(s => Math.Max(1, s.Weight));
        var shares = new List<ServerShare>();
        var moves = new List<RebalanceMove>();
        var threshold = 1 + (Math.Max(0, triggerPercent) / 100.0);
        foreach (var server in eligible.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            var mine = onEligible.Where(s => s.ServerId == server.Id).ToList();
            var share = weights == 0 ? 0 : (double)total * Math.Max(1, server.Weight) / weights;
            var excess = mine.Count > share * threshold ? Math.Max(0, mine.Count - (int)Math.Ceiling(share)) : 0;
            shares.Add(new ServerShare(server.Name, mine.Count, share, excess, mine.Count(s => s.Booting), mine.Count(s => s.Unmovable is not null)));
            if (only is not null && server.Id != only)
            {
                continue;
            }

            moves.AddRange(Movable(mine)
                .Take(excess)
                .Select(s => new RebalanceMove(s.SessionId, s.DeviceId, s.Device, server.Id, server.Name, "rebalance")));
        }

        var skipped = SkipReason(input, eligible.Count);
        return new RebalancePlan(shares, skipped is null ? moves : [], skipped);
    }

    /// <summary>Every movable, non-booting session of a (drained) server, for <c>server drain NAME --move</c>.</summary>
    public static RebalancePlan Drain(RebalanceInput input, long serverId)
    {
        var server = input.Servers.First(s => s.Id == serverId);
        var mine = input.Sessions.Where(s => s.ServerId == serverId).ToList();
        var shares = new List<ServerShare> { new(server.Name, mine.Count, 0, mine.Count, mine.Count(s => s.Booting), mine.Count(s => s.Unmovable is not null)) };
        var others = input.Servers.Count(s => s.Id != serverId && s.Running && s.Enabled);
        var skipped = others == 0 ? "no other running server takes new boots: the sessions stay" : null;
        var moves = skipped is not null ? [] : Movable(mine).Select(s => new RebalanceMove(s.SessionId, s.DeviceId, s.Device, server.Id, server.Name, "drain")).ToList();
        return new RebalancePlan(shares, moves, skipped);
    }

    private static IEnumerable<RebalanceSession> Movable(IEnumerable<RebalanceSession> sessions) =>
        sessions.Where(s => s.Unmovable is null && !s.Booting).OrderByDescending(s => s.StartedAt).ThenByDescending(s => s.SessionId);

    private static string? SkipReason(RebalanceInput input, int eligible)
    {
        if (input.Clients > 0 && input.BootingClients * 100 > MaxBootingPercent * input.Clients)
        {
            return $"{input.BootingClients} of the farm's {input.Clients} clients are booting (more than {MaxBootingPercent} %): nothing moves during a boot storm";
        }

        return eligible < 2 ? "fewer than two running servers take new boots: there is nowhere to move to" : null;
    }
}
