using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>What the site is doing and did: <see cref="SiteQueries"/>, or the API's <c>/sessions</c>, <c>/leases</c> and <c>/audit</c>.</summary>
public interface ISiteQueries
{
    Task<AdminResult<IReadOnlyList<SessionView>>> SessionsAsync(bool includeEnded, CancellationToken cancellationToken = default);

    /// <summary>Devices' last refused boots, newest first; only those nothing of the device started since, unless <paramref name="includePast"/>.</summary>
    Task<AdminResult<IReadOnlyList<RefusedBootView>>> RefusedBootsAsync(bool includePast, CancellationToken cancellationToken = default);

    Task<AdminResult<IReadOnlyList<LeaseView>>> LeasesAsync(CancellationToken cancellationToken = default);

    /// <summary>The newest <paramref name="limit"/> audit entries, newest first.</summary>
    Task<AdminResult<IReadOnlyList<AuditView>>> AuditAsync(int limit, CancellationToken cancellationToken = default);
}
