using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Streamboot.Admin;
using Streamboot.Admin.Rebalancing;
using Streamboot.Sessions.Live;

namespace Streamboot.Sessions.Farm;

/// <summary>
/// This server's part in rebalancing, run every maintenance tick: moves the
/// sessions an admin asked it to move (their rows marked by
/// <c>server rebalance</c> or <c>server drain --move</c>), and every
/// <see cref="SessionSettings.RebalanceInterval"/> checks its own share of
/// the farm's sessions against its weight and moves the excess beyond
/// <see cref="SessionSettings.RebalanceTriggerPercent"/> (never during a boot
/// storm, never a booting client: <see cref="RebalancePlanner"/>). Each
/// server decides only for itself, so two servers never move one session.
/// </summary>
internal sealed partial class SessionRebalancing(AdminSite site, SessionSettings settings, Func<long?> serverId, LiveSessions live, TimeProvider clock, ILogger logger)
{
    /// <summary>A request older than this is from a plan the farm has moved on from: dropped.</summary>
    private static readonly TimeSpan s_requestLifetime = TimeSpan.FromMinutes(5);

    private DateTime? _nextCheck;

    /// <summary>Carries out this tick's moves; how many sessions moved.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (serverId() is not { } self)
        {
            return 0;
        }

        var moved = await MoveRequestedAsync(self, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        if (settings.RebalanceInterval <= TimeSpan.Zero)
        {
            return moved;
        }

        // The first check one interval after start: a server that just came up has nothing to give.
        _nextCheck ??= now + settings.RebalanceInterval;
        if (now < _nextCheck)
        {
            return moved;
        }

        _nextCheck = now + settings.RebalanceInterval;
        return moved + await CheckShareAsync(self, cancellationToken);
    }

    private async Task<int> MoveRequestedAsync(long self, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var requested = await db.Sessions.AsNoTracking()
            .Where(s => s.ServerId == self && s.EndedAt == null && s.MoveRequestedAt != null && s.DeviceId != null)
            .Select(s => new { s.Id, DeviceId = s.DeviceId!.Value, s.MoveRequestedAt, s.MoveReason })
            .ToListAsync(cancellationToken);
        if (requested.Count == 0)
        {
            return 0;
        }

        // Taken off the rows first: a move that fails is not retried every tick.
        var ids = requested.Select(r => r.Id).ToList();
        await db.Sessions.Where(s => ids.Contains(s.Id))
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.MoveRequestedAt, (DateTime?)null).SetProperty(s => s.MoveReason, (string?)null), cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var moved = 0;
        foreach (var request in requested.Where(r => now - r.MoveRequestedAt <= s_requestLifetime))
        {
            // The reason is only ever one of these words in the log, whatever the row says.
            var reason = request.MoveReason == "drain" ? "server drained with --move" : "server rebalance";
            moved += await MoveAsync(request.DeviceId, request.Id, reason, cancellationToken);
        }

        return moved;
    }

    private async Task<int> CheckShareAsync(long self, CancellationToken cancellationToken)
    {
        var input = await new ServerRebalance(site, settings.ServerDownAfter, settings.BootingWindow).LoadAsync(cancellationToken);
        var plan = RebalancePlanner.Plan(input, settings.RebalanceTriggerPercent, only: self);
        if (plan.Skipped is not null)
        {
            LogSkipped(logger, plan.Skipped);
            return 0;
        }

        var moved = 0;
        foreach (var move in plan.Moves)
        {
            moved += await MoveAsync(move.DeviceId, move.SessionId, $"automatic rebalance: over its share by more than {settings.RebalanceTriggerPercent} %", cancellationToken);
        }

        return moved;
    }

    private async Task<int> MoveAsync(long deviceId, long sessionId, string reason, CancellationToken cancellationToken)
    {
        var outcome = await live.MoveAsync(deviceId, sessionId, reason, cancellationToken);
        if (outcome == MoveOutcome.Unmovable)
        {
            LogUnmovable(logger, sessionId);
        }

        return outcome == MoveOutcome.Moved ? 1 : 0;
    }

    [LoggerMessage(1121, LogLevel.Debug, "Rebalancing skipped: {Why}")]
    private static partial void LogSkipped(ILogger logger, string why);

    [LoggerMessage(1122, LogLevel.Warning, "Session {SessionId} was asked to move but its write cache is in this server's RAM: it stays")]
    private static partial void LogUnmovable(ILogger logger, long sessionId);
}
