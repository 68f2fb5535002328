using Microsoft.Extensions.Diagnostics.HealthChecks;
using Streamboot.Data;

namespace Streamboot.Server.Health;

/// <summary>Healthy when the site database answers; a server that cannot reach it cannot decide who boots what.</summary>
internal sealed class DatabaseHealthCheck(SiteDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await database.PingAsync(cancellationToken)
            ? HealthCheckResult.Healthy(database.Location.Describe())
            : HealthCheckResult.Unhealthy($"cannot reach {database.Location.Describe()}");
}
