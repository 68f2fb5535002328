using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Streamboot.Data;

namespace Streamboot.Server.Health;

/// <summary>
/// Healthy when the site database answers; degraded while it does not but
/// this server serves known devices from its snapshot (changes wait);
/// unhealthy when it does not and there is no snapshot to serve from.
/// <c>/healthz</c> answers anyone on the network, so it says whether the
/// database answers, never where it is (its path, or a PostgreSQL user and
/// host): the server log has that.
/// </summary>
internal sealed class DatabaseHealthCheck(SiteDatabase database, [FromKeyedServices(StreambootServer.ServingDatabase)] SiteDatabase serving) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (serving.Offline)
        {
            return HealthCheckResult.Degraded("the site database does not answer: known devices boot from this server's snapshot, changes wait until it is back");
        }

        return await database.PingAsync(cancellationToken)
            ? HealthCheckResult.Healthy("the site database answers")
            : HealthCheckResult.Unhealthy("the site database does not answer (the server log says which database)");
    }
}
