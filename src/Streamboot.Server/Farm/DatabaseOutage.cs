using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streamboot.Data;
using Streamboot.Data.Outage;

namespace Streamboot.Server.Farm;

/// <summary>
/// Keeps this server's <see cref="SiteSnapshot"/>: refreshed every
/// <c>SnapshotSeconds</c> while the database answers; a refresh that finds
/// it gone switches the serving paths to the snapshot (so does a boot or an
/// open that fails that way, through <see cref="SiteDatabase.FallBackAsync"/>);
/// while offline, asked every second whether it is back, and then the
/// outage's boots and sessions are written back before the serving paths
/// return to it.
/// </summary>
internal sealed partial class DatabaseOutage(SiteSnapshot snapshot, TimeSpan interval, ILogger<DatabaseOutage> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await snapshot.OpenAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var due = DateTime.MinValue;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                try
                {
                    if (snapshot.Offline)
                    {
                        if (await snapshot.TryReturnAsync(stoppingToken))
                        {
                            due = DateTime.MinValue;
                        }
                    }
                    else if (DateTime.UtcNow >= due)
                    {
                        due = DateTime.UtcNow + interval;
                        await snapshot.RefreshAsync(stoppingToken);
                    }
                }
                catch (Exception e) when (DbErrors.IsUnreachable(e))
                {
                    await snapshot.ConfirmOutageAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogRefreshFailed(logger, e.GetType().Name, e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(1043, LogLevel.Warning, "The site snapshot could not be refreshed ({Kind}: {Message}); the next refresh tries again")]
    private static partial void LogRefreshFailed(ILogger logger, string kind, string message);
}
