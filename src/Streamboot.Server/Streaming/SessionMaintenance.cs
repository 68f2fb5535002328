using Microsoft.Extensions.Hosting;
using Streamboot.Data;
using Streamboot.Sessions;

namespace Streamboot.Server.Streaming;

/// <summary>
/// Every few seconds: live sessions' counters into the database (for
/// <c>session list</c>), and the read caches of versions nobody streams any
/// more closed. A last report when the server stops.
/// </summary>
internal sealed class SessionMaintenance(SessionLayer sessions) : BackgroundService
{
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await sessions.MaintainAsync(CancellationToken.None);
        }
        catch (Exception e) when (DbErrors.IsDatabaseFailure(e))
        {
            // The database is gone at shutdown: the counters of this last interval are lost, nothing else.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await sessions.MaintainAsync(stoppingToken);
                }
                catch (Exception e) when (DbErrors.IsDatabaseFailure(e))
                {
                    // Counters are best effort; the next tick retries.
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
