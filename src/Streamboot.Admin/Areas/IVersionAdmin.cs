using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>A vDisk's version chain: <see cref="VersionAdmin"/>, or the API's <c>/vdisks/{name}/...</c> (a merge runs as an operation).</summary>
public interface IVersionAdmin
{
    Task<AdminResult<VDiskView>> NewAsync(string name, string? description = null, CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskView>> PromoteAsync(string name, string? to = null, CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskView>> RollbackAsync(string name, CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskView>> MergeAsync(string name, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskView>> PruneAsync(string name, CancellationToken cancellationToken = default);
}
