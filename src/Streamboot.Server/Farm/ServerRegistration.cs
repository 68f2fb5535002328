using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Data;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Farm;

/// <summary>
/// Puts this server in the servers table and keeps its heartbeat fresh, so
/// admins (and, in a farm, the other servers) can see it is alive, and
/// records a clean stop. Sessions a crashed earlier run of this server left
/// open are ended at start: their clients are gone, and a live row would
/// block those identities. (serve holds its name's <c>ServerNameLock</c>
/// before this runs: no other running server writes this row.)
/// </summary>
internal sealed class ServerRegistration(
    SiteDatabase database,
    ServerIdentity identity,
    IOptions<StreambootOptions> options,
    Sessions.SessionLayer sessions,
    TimeProvider clock,
    ILogger<ServerRegistration> logger) : BackgroundService
{
    private long _lastBytes;
    private DateTime _lastBeat;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var db = database.CreateContext())
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var lower = identity.Name.ToLowerInvariant();
            var row = await db.Servers.FirstOrDefaultAsync(s => s.Name.ToLower() == lower, cancellationToken);
            if (row is null)
            {
                row = new Data.Model.Server { Name = identity.Name };
                db.Servers.Add(row);
            }

            row.Address = options.Value.Bind;
            row.HttpPort = options.Value.HttpPort;
            row.StartedAt = now;
            row.LastHeartbeatAt = now;
            row.Version = ServerInfo.Version;
            row.StoppedAt = null;
            // What the farm's boot scripts need to send clients here. Weight and
            // drain (Enabled) are the admin's (server set, drain, enable): kept.
            row.Addresses = PublishedAddresses.Of(options.Value);
            row.NbdPort = options.Value.NbdPort;
            row.IscsiPort = options.Value.IscsiPort;
            row.MaxBooting = Math.Max(0, options.Value.MaxBooting);
            row.LiveSessions = 0;
            row.Booting = 0;
            row.BytesPerSecond = 0;
            await db.SaveChangesAsync(cancellationToken);
            _lastBeat = now;
            identity.Id = row.Id;

            var stale = await db.Sessions.Where(s => s.ServerId == row.Id && s.EndedAt == null).ToListAsync(cancellationToken);
            foreach (var session in stale)
            {
                session.EndedAt = now;
            }

            if (stale.Count > 0)
            {
                await db.SaveChangesAsync(cancellationToken);
                ServerLog.EndedStaleSessions(logger, stale.Count, identity.Name);
            }
        }

        ServerLog.Registered(logger, identity.Name, identity.Id);
        await base.StartAsync(cancellationToken);
    }

    /// <summary>Records the clean stop, so <c>server list</c> tells it from a crash and the name is free at once.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (identity.Id == 0)
        {
            return;
        }

        try
        {
            await using var db = database.CreateContext();
            var now = clock.GetUtcNow().UtcDateTime;
            await db.Servers.Where(s => s.Id == identity.Id)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.StoppedAt, (DateTime?)now).SetProperty(s => s.LastHeartbeatAt, now), CancellationToken.None);
        }
        catch (Exception e) when (DbErrors.IsDatabaseFailure(e))
        {
            // The row then reads "missing heartbeats" after a while: true enough of a server gone.
            ServerLog.HeartbeatFailed(logger, e.Message);
        }
    }

    /// <summary>
    /// One heartbeat: the time and this server's load (live sessions,
    /// clients booting, bytes per second since the last beat); then the
    /// sessions of servers that are down are ended, so their clients may
    /// continue on this one and placement stops counting them.
    /// </summary>
    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var now = clock.GetUtcNow().UtcDateTime;
        var since = now - TimeSpan.FromSeconds(Math.Max(1, options.Value.BootingSeconds));
        var booting = await db.Boots.Where(Data.Model.Boot.BootingSince(since)).CountAsync(b => b.ServerId == identity.Id, cancellationToken);
        var bytes = sessions.BytesStreamed;
        var seconds = Math.Max(0.001, (now - _lastBeat).TotalSeconds);
        var perSecond = (long)(Math.Max(0, bytes - _lastBytes) / seconds);
        _lastBytes = bytes;
        _lastBeat = now;
        var live = sessions.LiveCount;
        using (await database.WriteTurnAsync(cancellationToken))
        {
            await db.Servers.Where(s => s.Id == identity.Id)
                .ExecuteUpdateAsync(
                    u => u.SetProperty(s => s.LastHeartbeatAt, now)
                        .SetProperty(s => s.StoppedAt, (DateTime?)null)
                        .SetProperty(s => s.LiveSessions, live)
                        .SetProperty(s => s.Booting, booting)
                        .SetProperty(s => s.BytesPerSecond, perSecond),
                    cancellationToken);
        }

        var ended = await sessions.EndSessionsOfDownServersAsync(cancellationToken);
        if (ended > 0)
        {
            ServerLog.EndedSessionsOfDownServers(logger, ended);
        }
    }

    private TimeSpan Heartbeat => TimeSpan.FromSeconds(Math.Max(1, options.Value.HeartbeatSeconds));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Heartbeat, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await BeatAsync(stoppingToken);
                }
                catch (Exception e) when (DbErrors.IsDatabaseFailure(e))
                {
                    // A database that blinks must not stop streaming; the next beat retries.
                    ServerLog.HeartbeatFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
