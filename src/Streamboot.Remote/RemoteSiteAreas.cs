using Streamboot.Admin;
using Streamboot.Admin.Access;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Api.Contracts.Requests;

namespace Streamboot.Remote;

/// <summary>
/// The site's smaller areas through the API: its store (<c>/site</c>, replicas),
/// what it is doing (<c>/sessions</c>, <c>/leases</c>, <c>/audit</c>), boots
/// issued by an admin (<c>/devices/{key}/boots</c>) and tokens (<c>/tokens</c>).
/// </summary>
internal sealed class RemoteSiteAreas(ApiConnection api) : IStoreAdmin, ISiteQueries, IBootAdmin, ITokenAdmin
{
    public Task<AdminResult<SiteInfoView>> InfoAsync(CancellationToken cancellationToken = default) =>
        api.GetAsync<SiteInfoView>(Paths.Of("site"), cancellationToken);

    // Going replicated hashes every version without a hash at the server: it may take a while.
    public Task<AdminResult<SiteInfoView>> SetStoreAsync(string kindText, CancellationToken cancellationToken = default) =>
        api.SendAsync<SiteInfoView>(HttpMethod.Patch, Paths.Of("site"), new SiteChange(kindText), cancellationToken, longer: TimeSpan.FromMinutes(30));

    public Task<AdminResult<VDiskReplicasView>> ReplicasAsync(string name, CancellationToken cancellationToken = default) =>
        api.GetAsync<VDiskReplicasView>(Paths.Of("vdisks", name, "replicas"), cancellationToken);

    public Task<AdminResult<IReadOnlyList<SessionView>>> SessionsAsync(bool includeEnded, CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<SessionView>>(Paths.Query(Paths.Of("sessions"), ("all", includeEnded)), cancellationToken);

    public Task<AdminResult<IReadOnlyList<RefusedBootView>>> RefusedBootsAsync(bool includePast, CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<RefusedBootView>>(Paths.Query(Paths.Of("sessions", "refused"), ("all", includePast)), cancellationToken);

    public Task<AdminResult<IReadOnlyList<LeaseView>>> LeasesAsync(CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<LeaseView>>(Paths.Of("leases"), cancellationToken);

    public Task<AdminResult<IReadOnlyList<AuditView>>> AuditAsync(int limit, CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<AuditView>>(Paths.Query(Paths.Of("audit"), ("limit", limit)), cancellationToken);

    public Task<AdminResult<IssuedBoot>> IssueAsync(string device, string? vdisk, CancellationToken cancellationToken = default) =>
        api.SendAsync<IssuedBoot>(HttpMethod.Post, Paths.Of("devices", device, "boots"), new BootCreate(vdisk), cancellationToken);

    public Task<AdminResult<NewToken>> CreateTokenAsync(string name, string scope, CancellationToken cancellationToken = default) =>
        api.SendAsync<NewToken>(HttpMethod.Post, Paths.Of("tokens"), new TokenCreate(name, scope), cancellationToken);

    public Task<AdminResult<IReadOnlyList<TokenView>>> ListTokensAsync(CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<TokenView>>(Paths.Of("tokens"), cancellationToken);

    public Task<AdminResult<TokenView>> RevokeTokenAsync(string name, CancellationToken cancellationToken = default) =>
        api.SendAsync<TokenView>(HttpMethod.Delete, Paths.Of("tokens", name), null, cancellationToken);
}
