namespace Streamboot.Api.Contracts.Requests;

/// <summary>
/// A disk image already on the server to import as a new vDisk (<c>vdisk
/// import</c>): <see cref="Path"/> is absolute, a regular file the server's
/// user can read. The API takes no uploads (docs/api.md says why).
/// </summary>
public sealed record VDiskImport(
    string Name,
    string Path,
    string? SourceFormat = null,
    string? Format = null,
    string? Access = null,
    string? WriteCacheMode = null,
    string? Description = null);
