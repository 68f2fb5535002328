using System.Globalization;
using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Api.Contracts.Requests;

namespace Streamboot.Remote;

/// <summary>vDisks and their version chains through <c>/vdisks</c>; import and merge as polled operations.</summary>
internal sealed class RemoteVDisks(ApiConnection api) : IVDiskAdmin, IVersionAdmin
{
    public Task<AdminResult<VDiskView>> CreateAsync(
        string name,
        long sizeBytes,
        string? accessMode = null,
        string? writeCacheMode = null,
        string? description = null,
        CancellationToken cancellationToken = default,
        string? format = null) =>
        api.SendAsync<VDiskView>(
            HttpMethod.Post,
            Paths.Of("vdisks"),
            new VDiskCreate(name, sizeBytes.ToString(CultureInfo.InvariantCulture), format, accessMode, writeCacheMode, description),
            cancellationToken);

    public async Task<AdminResult<VDiskView>> ImportAsync(
        string name,
        string source,
        string? sourceFormat = null,
        string? format = null,
        string? accessMode = null,
        string? writeCacheMode = null,
        string? description = null,
        IProgress<(long Done, long Total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var imported = await RemoteOperations.RunAsync<VDiskView>(
            api, Paths.Of("vdisks", "import"), new VDiskImport(name, source, sourceFormat, format, accessMode, writeCacheMode, description), progress, cancellationToken);
        // The path is the server's: a user who named a file of their own machine is told where it must be.
        return imported.Ok || imported.Error.Kind != AdminErrorKind.NotFound || !imported.Error.Message.Contains(source, StringComparison.Ordinal)
            ? imported
            : AdminError.NotFound($"{imported.Error.Message} on the server {api.Settings.Server}: through the API the path names a file there, in a folder it imports from (DATA/import, or STREAMBOOT_API_IMPORT_FOLDERS); copy the image there first (rsync, scp)");
    }

    public Task<AdminResult<IReadOnlyList<VDiskView>>> ListAsync(CancellationToken cancellationToken = default) =>
        api.GetAsync<IReadOnlyList<VDiskView>>(Paths.Of("vdisks"), cancellationToken);

    public Task<AdminResult<VDiskView>> ShowAsync(string name, CancellationToken cancellationToken = default) =>
        api.GetAsync<VDiskView>(Paths.Of("vdisks", name), cancellationToken);

    public Task<AdminResult<VDiskView>> SetAsync(string name, VDiskChanges changes, CancellationToken cancellationToken = default) =>
        api.SendAsync<VDiskView>(HttpMethod.Patch, Paths.Of("vdisks", name), changes, cancellationToken);

    public Task<AdminResult<VDiskDeletionView>> DeleteAsync(string name, bool force, bool keepFiles = false, CancellationToken cancellationToken = default) =>
        api.SendAsync<VDiskDeletionView>(HttpMethod.Delete, Paths.Query(Paths.Of("vdisks", name), ("force", force), ("keepFiles", keepFiles)), null, cancellationToken);

    public Task<AdminResult<VDiskView>> NewAsync(string name, string? description = null, CancellationToken cancellationToken = default) =>
        api.SendAsync<VDiskView>(HttpMethod.Post, Paths.Of("vdisks", name, "versions"), new VersionChange(Description: description), cancellationToken);

    public Task<AdminResult<VDiskView>> PromoteAsync(string name, string? to = null, CancellationToken cancellationToken = default) =>
        api.SendAsync<VDiskView>(HttpMethod.Post, Paths.Of("vdisks", name, "promote"), new VersionChange(To: to), cancellationToken);

    public Task<AdminResult<VDiskView>> RollbackAsync(string name, CancellationToken cancellationToken = default) =>
        api.SendAsync<VDiskView>(HttpMethod.Post, Paths.Of("vdisks", name, "rollback"), null, cancellationToken);

    public Task<AdminResult<VDiskView>> MergeAsync(string name, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancellationToken = default) =>
        RemoteOperations.RunAsync<VDiskView>(api, Paths.Of("vdisks", name, "merge"), null, progress, cancellationToken);

    public Task<AdminResult<VDiskView>> PruneAsync(string name, CancellationToken cancellationToken = default) =>
        api.SendAsync<VDiskView>(HttpMethod.Post, Paths.Of("vdisks", name, "prune"), null, cancellationToken);
}
