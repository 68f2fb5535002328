using Streamboot.Admin.Views;

namespace Streamboot.Admin.Areas;

/// <summary>vDisks: <see cref="VDiskAdmin"/>, or the API's <c>/vdisks</c> (an import there runs as an operation, polled for its progress).</summary>
public interface IVDiskAdmin
{
    Task<AdminResult<VDiskView>> CreateAsync(
        string name,
        long sizeBytes,
        string? accessMode = null,
        string? writeCacheMode = null,
        string? description = null,
        CancellationToken cancellationToken = default,
        string? format = null);

    /// <summary>
    /// Imports the image at <paramref name="source"/> as a new vDisk. The path
    /// is read where the site is: through the API, a file on the server, in a
    /// folder it imports from.
    /// </summary>
    Task<AdminResult<VDiskView>> ImportAsync(
        string name,
        string source,
        string? sourceFormat = null,
        string? format = null,
        string? accessMode = null,
        string? writeCacheMode = null,
        string? description = null,
        IProgress<(long Done, long Total)>? progress = null,
        CancellationToken cancellationToken = default);

    Task<AdminResult<IReadOnlyList<VDiskView>>> ListAsync(CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskView>> ShowAsync(string name, CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskView>> SetAsync(string name, VDiskChanges changes, CancellationToken cancellationToken = default);

    Task<AdminResult<VDiskDeletionView>> DeleteAsync(string name, bool force, bool keepFiles = false, CancellationToken cancellationToken = default);
}
