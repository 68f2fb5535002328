using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Views;
using Streamboot.Data.Model;

namespace Streamboot.Admin.Rebalancing;

/// <summary>
/// Rebalancing against the database: reads the farm into a
/// <see cref="RebalanceInput"/>, and asks servers to move sessions by
/// marking the sessions' rows (the CLI is not a server; each server acts on
/// the marks on its own rows at its next maintenance tick).
/// </summary>
public sealed class ServerRebalance(AdminSite site, TimeSpan downAfter, TimeSpan bootingWindow)
{
    /// <summary>The farm now: running state of each server, live device sessions, clients booting.</summary>
    public async Task<RebalanceInput> LoadAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var now = site.UtcNow;
        var since = now - bootingWindow;
        var servers = (await db.Servers.AsNoTracking().ToListAsync(cancellationToken))
            .Select(s => new RebalanceServer(s.Id, s.Name, s.Weight, s.Enabled, ServerLiveness.StateAfter(s, now, downAfter) == ServerState.Running))
            .ToList();
        var live = await db.Sessions.AsNoTracking()
            .Where(s => s.EndedAt == null && s.DeviceId != null && s.ServerId != null)
            .Select(s => new { s.Id, DeviceId = s.DeviceId!.Value, Device = s.Device!.Name, ServerId = s.ServerId!.Value, s.StartedAt, s.WriteCacheMode, s.Protocol })
            .ToListAsync(cancellationToken);
        var recent = await db.Boots.AsNoTracking()
            .Where(b => b.IssuedAt >= since || b.StartedAt >= since)
            .Select(b => new { b.DeviceId, b.StartedAt })
            .ToListAsync(cancellationToken);
        var bootingDevices = recent.Where(b => b.StartedAt >= since).Select(b => b.DeviceId).ToHashSet();
        var pending = recent.Count(b => b.StartedAt == null);
        var sessions = live
            .Select(s => new RebalanceSession(s.Id, s.DeviceId, s.Device, s.ServerId, s.StartedAt, bootingDevices.Contains(s.DeviceId), UnmovableBecause(s.WriteCacheMode, s.Protocol)))
            .ToList();
        var booting = recent.Select(b => b.DeviceId).Distinct().Count();
        return new RebalanceInput(servers, sessions, booting, sessions.Count + pending);
    }

    /// <summary>Why a session can never move; null when it can.</summary>
    public static string? UnmovableBecause(WriteCacheMode mode, string protocol) =>
        mode == WriteCacheMode.ServerRam ? "its write cache is in its server's RAM"
        : !string.Equals(protocol, "nbd", StringComparison.Ordinal) ? $"its client ({protocol}) does not reconnect to another server"
        : null;

    /// <summary>Plans a rebalance of the whole farm (any excess over the fair share) and, unless a dry run, asks the servers to carry it out.</summary>
    public async Task<RebalancePlan> RebalanceAsync(bool dryRun, CancellationToken cancellationToken = default)
    {
        var plan = RebalancePlanner.Plan(await LoadAsync(cancellationToken), triggerPercent: 0);
        if (!dryRun)
        {
            await RequestAsync(plan, "server.rebalance", "farm", cancellationToken);
        }

        return plan;
    }

    /// <summary>Drains a server and asks it to move every movable live session away.</summary>
    public async Task<AdminResult<RebalancePlan>> DrainAndMoveAsync(string name, CancellationToken cancellationToken = default)
    {
        var drained = await new ServerAdmin(site).DrainAsync(name, cancellationToken);
        if (!drained.Ok)
        {
            return drained.Error;
        }

        var input = await LoadAsync(cancellationToken);
        var server = input.Servers.First(s => string.Equals(s.Name, drained.Value, StringComparison.Ordinal));
        var plan = RebalancePlanner.Drain(input, server.Id);
        await RequestAsync(plan, "server.drain-move", server.Name, cancellationToken);
        return plan;
    }

    private async Task RequestAsync(RebalancePlan plan, string action, string target, CancellationToken cancellationToken)
    {
        if (plan.Moves.Count == 0)
        {
            return;
        }

        await using var db = site.Database.CreateContext();
        var now = site.UtcNow;
        foreach (var reason in plan.Moves.GroupBy(m => m.Reason))
        {
            var ids = reason.Select(m => m.SessionId).ToList();
            await db.Sessions.Where(s => ids.Contains(s.Id) && s.EndedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.MoveRequestedAt, (DateTime?)now).SetProperty(s => s.MoveReason, reason.Key), cancellationToken);
        }

        site.Audit(db, action, target, new { moves = plan.Moves.Select(m => new { m.Device, m.Server }) });
        await db.SaveChangesAsync(cancellationToken);
    }
}
