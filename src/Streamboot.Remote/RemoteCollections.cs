using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Api.Contracts.Requests;

namespace Streamboot.Remote;

/// <summary>Collections through <c>/collections</c>.</summary>
internal sealed class RemoteCollections(ApiConnection api) : ICollectionAdmin
{
    public Task<AdminResult<CollectionView>> AddAsync(string name, CollectionChanges fields, CancellationToken cancellationToken = default) =>
        api.SendAsync<CollectionView>(
            HttpMethod.Post,
            Paths.Of("collections"),
            new CollectionCreate(name, fields.Description, fields.NamingPattern, fields.UnknownDevicePolicy, fields.DefaultVDisk, fields.ReceivesUnknown, fields.BootProtocol, fields.BootLoader),
            cancellationToken);

    public Task<AdminResult<IReadOnlyList<CollectionView>>> ListAsync(CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<CollectionView>>(Paths.Of("collections"), cancellationToken);

    public Task<AdminResult<CollectionView>> ShowAsync(string name, CancellationToken cancellationToken = default) =>
        api.GetAsync<CollectionView>(Paths.Of("collections", name), cancellationToken);

    public Task<AdminResult<CollectionView>> SetAsync(string name, CollectionChanges changes, CancellationToken cancellationToken = default) =>
        api.SendAsync<CollectionView>(HttpMethod.Patch, Paths.Of("collections", name), changes, cancellationToken);

    public Task<AdminResult<CollectionView>> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        api.SendAsync<CollectionView>(HttpMethod.Delete, Paths.Of("collections", name), null, cancellationToken);
}
