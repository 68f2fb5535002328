using Microsoft.Extensions.Diagnostics.HealthChecks;
using Streamboot.Data;

namespace Streamboot.Server.Health;

/// <summary>
/// Healthy when the site database answers; a server that cannot reach it
/// cannot decide who boots what. <c>/healthz</c> answers anyone on the
/// network, so it says whether the database answers, never where it is
/// (its path, or a PostgreSQL user and host): the server log has that.
/// </summary>
internal sealed class DatabaseHealthCheck(SiteDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await database.PingAsync(cancellationToken)
            ? HealthCheckResult.Healthy("the site database answers")
            : HealthCheckResult.Unhealthy("the site database does not answer (the server log says which database)");
}
