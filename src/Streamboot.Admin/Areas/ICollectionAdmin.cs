using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>Collections of devices: <see cref="CollectionAdmin"/>, or the API's <c>/collections</c>.</summary>
public interface ICollectionAdmin
{
    Task<AdminResult<CollectionView>> AddAsync(string name, CollectionChanges fields, CancellationToken cancellationToken = default);

    Task<AdminResult<IReadOnlyList<CollectionView>>> ListAsync(CancellationToken cancellationToken = default);

    Task<AdminResult<CollectionView>> ShowAsync(string name, CancellationToken cancellationToken = default);

    Task<AdminResult<CollectionView>> SetAsync(string name, CollectionChanges changes, CancellationToken cancellationToken = default);

    Task<AdminResult<CollectionView>> DeleteAsync(string name, CancellationToken cancellationToken = default);
}
