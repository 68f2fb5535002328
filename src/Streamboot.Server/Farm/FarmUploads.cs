using Microsoft.Extensions.Logging;
using Streamboot.Admin;
using Streamboot.Telemetry;

namespace Streamboot.Server.Farm;

/// <summary>What the farm route needs: the site, this server, the secret, and a bound on copies handed out at once.</summary>
internal sealed partial class FarmUploads(AdminSite site, ServerIdentity identity, FarmSecret secret, ReplicaSettings settings, TimeProvider clock, ILogger<FarmUploads> logger)
{
    private readonly LogThrottle _refusals = new(10, TimeSpan.FromMinutes(1), clock);
    private int _active;

    public AdminSite Site => site;

    public ServerIdentity Identity => identity;

    public FarmSecret Secret => secret;

    public TimeProvider Clock => clock;

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _active) <= Math.Max(1, settings.ReplicaUploadsAtOnce))
        {
            return true;
        }

        Interlocked.Decrement(ref _active);
        return false;
    }

    public IDisposable Leave() => new Release(this);

    public void Refused(string? remote)
    {
        StreambootMetrics.Refused(StreambootMetrics.Http, "farm_signature");
        if (_refusals.TryAcquire(out var before))
        {
            LogRefused(logger, remote ?? "(unknown)", before);
        }
    }

    [LoggerMessage(1020, LogLevel.Warning, "Farm: refused a copy request from {Remote} without a valid farm signature ({Suppressed} more not logged before it)")]
    private static partial void LogRefused(ILogger logger, string remote, long suppressed);

    private sealed class Release(FarmUploads owner) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                Interlocked.Decrement(ref owner._active);
            }
        }
    }
}
