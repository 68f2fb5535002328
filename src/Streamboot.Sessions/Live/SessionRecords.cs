using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Sessions.Live;

/// <summary>
/// The sessions table: one row per device session, live while its
/// connections last, with its traffic (for <c>streamboot session list</c>).
/// A partial unique index allows one live row per device, so one identity
/// never runs twice, even across servers. The shared read-only view keeps
/// no rows: anyone may open it, and rows nobody owns would grow without end.
/// </summary>
internal sealed class SessionRecords(SiteDatabase database, Func<long?> serverId, TimeSpan serverDownAfter, TimeProvider clock)
{
    /// <summary>
    /// Records a device's session as live; null when the device already has
    /// a live session (the unique index said so) on a server that is up. A
    /// live row of a server that stopped or is down (no heartbeat for
    /// the down time) is ended first: its client is
    /// failing over to this one. The row keeps its boot's times (script
    /// issued, disk first opened, root connected), which outlive the boot's own row.
    /// When this connection is the boot's OS connecting its root
    /// (<paramref name="rootConnecting"/>), the boot's row takes that time in
    /// the same write (one write turn for both, where a boot storm queues),
    /// and the boot's duration comes back when this open recorded it first.
    /// </summary>
    public async Task<(long? SessionId, TimeSpan? BootDuration)> OpenAsync(long deviceId, long vdiskId, int version, string protocol, string? remote, WriteCacheMode mode, BootTimes boot, bool rootConnecting, CancellationToken cancellationToken)
    {
        var opened = await TryOpenAsync(deviceId, vdiskId, version, protocol, remote, mode, boot, rootConnecting, cancellationToken);
        if (opened.SessionId is not null || !await EndIfServerDownAsync(deviceId, cancellationToken))
        {
            return opened;
        }

        return await TryOpenAsync(deviceId, vdiskId, version, protocol, remote, mode, boot, rootConnecting, cancellationToken);
    }

    /// <summary>Ends the device's live session when the server holding it is gone; whether it did.</summary>
    private async Task<bool> EndIfServerDownAsync(long deviceId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        // Offline, a holder's heartbeat is judged as the snapshot saw it: a
        // server the database merely cannot hear from is not down.
        var asOf = database.AsOf(now, serverDownAfter);
        await using var db = database.CreateContext();
        var holder = await db.Sessions.AsNoTracking().Where(s => s.DeviceId == deviceId && s.EndedAt == null)
            .Select(s => new { s.Id, s.ServerId, s.Server }).FirstOrDefaultAsync(cancellationToken);
        if (holder is null)
        {
            return true;
        }

        if (holder.ServerId == serverId() || (holder.Server is { } server && server.StoppedAt is null && asOf - server.LastHeartbeatAt <= serverDownAfter))
        {
            return false;
        }

        using var turn = await database.WriteTurnAsync(cancellationToken);
        return await db.Sessions.Where(s => s.Id == holder.Id && s.EndedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, (DateTime?)now), cancellationToken) > 0;
    }

    /// <summary>Ends the live sessions of servers that are down (stopped, or silent past the down time): their clients are gone or failing over.</summary>
    public async Task<int> EndSessionsOfDownServersAsync(CancellationToken cancellationToken)
    {
        if (database.Offline)
        {
            // Nobody's heartbeat reaches the database: nobody is down by it.
            return 0;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var silent = database.AsOf(now, serverDownAfter) - serverDownAfter;
        var self = serverId();
        await using var db = database.CreateContext();
        var down = await db.Servers.Where(s => s.Id != self && (s.StoppedAt != null || s.LastHeartbeatAt < silent)).Select(s => s.Id).ToListAsync(cancellationToken);
        if (down.Count == 0)
        {
            return 0;
        }

        using var turn = await database.WriteTurnAsync(cancellationToken);
        return await db.Sessions.Where(s => s.EndedAt == null && s.ServerId != null && down.Contains(s.ServerId.Value))
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, (DateTime?)now), cancellationToken);
    }

    private async Task<(long? SessionId, TimeSpan? BootDuration)> TryOpenAsync(long deviceId, long vdiskId, int version, string protocol, string? remote, WriteCacheMode mode, BootTimes boot, bool rootConnecting, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        try
        {
            return await database.WriteAsync<(long?, TimeSpan?)>(
                async (db, ct) =>
                {
                    var session = new Session
                    {
                        DeviceId = deviceId,
                        VDiskId = vdiskId,
                        VersionNumber = version,
                        ServerId = serverId(),
                        Protocol = protocol,
                        RemoteAddress = remote,
                        WriteCacheMode = mode,
                        StartedAt = now,
                        LastActivityAt = now,
                        BootIssuedAt = boot.IssuedAt,
                        BootStartedAt = boot.StartedAt,
                        BootRootConnectedAt = boot.RootConnectedAt,
                    };
                    db.Sessions.Add(session);
                    await db.SaveChangesAsync(ct);
                    if (!rootConnecting || boot.RootConnectedAt is not null)
                    {
                        return (session.Id, null);
                    }

                    var (root, took) = await MarkRootAsync(db, boot.Id, boot.IssuedAt, now, ct);
                    await db.Sessions.Where(s => s.Id == session.Id)
                        .ExecuteUpdateAsync(u => u.SetProperty(s => s.BootRootConnectedAt, (DateTime?)root), ct);
                    return (session.Id, took);
                },
                cancellationToken);
        }
        catch (DbUpdateException e) when (DbErrors.UniqueViolation(e) is not null)
        {
            return (null, null);
        }
    }

    /// <summary>The boot's row takes <paramref name="now"/> as its root's time unless it has one: the time it has, and the boot's duration when this call set it.</summary>
    private static async Task<(DateTime Root, TimeSpan? Took)> MarkRootAsync(StreambootDbContext db, long bootId, DateTime issuedAt, DateTime now, CancellationToken ct)
    {
        if (await db.Boots.Where(b => b.Id == bootId && b.RootConnectedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(b => b.RootConnectedAt, (DateTime?)now), ct) == 1)
        {
            return (now, now - issuedAt);
        }

        return (await db.Boots.Where(b => b.Id == bootId).Select(b => b.RootConnectedAt).FirstOrDefaultAsync(ct) ?? now, null);
    }

    /// <summary>
    /// The boot's OS connected its root now: the boot's row takes the time
    /// unless it has one (another server's session of the boot was first),
    /// and the session's row takes the boot's. Answers the boot's duration
    /// (script to root) when this call was the one that set it, so a farm
    /// counts each boot once; null when another was first.
    /// </summary>
    public Task<TimeSpan?> RootConnectedAsync(long sessionId, long bootId, DateTime bootIssuedAt)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return database.WriteAsync<TimeSpan?>(async (db, ct) =>
        {
            var (root, took) = await MarkRootAsync(db, bootId, bootIssuedAt, now, ct);
            await db.Sessions.Where(s => s.Id == sessionId && s.BootRootConnectedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.BootRootConnectedAt, (DateTime?)root), ct);
            return took;
        });
    }

    /// <summary>Sessions' rows written in one transaction each (a commit, and one write turn on SQLite, per batch).</summary>
    public const int UpdateBatch = 100;

    /// <summary>Records live sessions' traffic so far, <see cref="UpdateBatch"/> rows a transaction.</summary>
    public async Task UpdateAsync(IReadOnlyList<SessionTraffic> sessions, CancellationToken cancellationToken)
    {
        foreach (var batch in sessions.Chunk(UpdateBatch))
        {
            var now = clock.GetUtcNow().UtcDateTime;
            using var turn = await database.WriteTurnAsync(cancellationToken);
            await using var db = database.CreateContext();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            foreach (var s in batch)
            {
                await db.Sessions.Where(row => row.Id == s.SessionId).ExecuteUpdateAsync(
                    u => u.SetProperty(row => row.BytesRead, s.BytesRead)
                        .SetProperty(row => row.BytesWritten, s.BytesWritten)
                        .SetProperty(row => row.WriteCacheBytes, s.WriteCacheBytes)
                        .SetProperty(row => row.LastActivityAt, now),
                    cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Ends the session with its traffic; its device may then start another.
    /// With <paramref name="finishedBoot"/>, that boot stops counting as
    /// booting (its client left), in the same transaction.
    /// </summary>
    public Task CloseAsync(long sessionId, long bytesRead, long bytesWritten, long writeCacheBytes, long? finishedBoot = null)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return database.WriteAsync(async (db, ct) =>
        {
            await db.Sessions.Where(s => s.Id == sessionId).ExecuteUpdateAsync(
                u => u.SetProperty(s => s.BytesRead, bytesRead)
                    .SetProperty(s => s.BytesWritten, bytesWritten)
                    .SetProperty(s => s.WriteCacheBytes, writeCacheBytes)
                    .SetProperty(s => s.LastActivityAt, now)
                    .SetProperty(s => s.EndedAt, (DateTime?)now),
                ct);
            if (finishedBoot is not null)
            {
                await db.Boots.Where(b => b.Id == finishedBoot && b.FinishedAt == null)
                    .ExecuteUpdateAsync(u => u.SetProperty(b => b.FinishedAt, (DateTime?)now), ct);
            }

            return true;
        });
    }
}

/// <summary>A boot's row as a session keeps it: its id and times (script issued, disk first opened, root connected).</summary>
internal readonly record struct BootTimes(long Id, DateTime IssuedAt, DateTime? StartedAt, DateTime? RootConnectedAt)
{
    public static BootTimes Of(Boot boot) => new(boot.Id, boot.IssuedAt, boot.StartedAt, boot.RootConnectedAt);
}
