using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>The site and how it stores vDisks: <see cref="Stores.StoreAdmin"/>, or the API's <c>/site</c> and <c>/vdisks/{name}/replicas</c>.</summary>
public interface IStoreAdmin
{
    Task<AdminResult<SiteInfoView>> InfoAsync(CancellationToken cancellationToken = default);

    Task<AdminResult<SiteInfoView>> SetStoreAsync(string kindText, CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskReplicasView>> ReplicasAsync(string name, CancellationToken cancellationToken = default);
}
