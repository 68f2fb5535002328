namespace Streamboot.Api.Contracts.Requests;

/// <summary>An empty vDisk to make (<c>vdisk create</c>): its size as the command line writes it ("20G", "512M", bytes).</summary>
public sealed record VDiskCreate(
    string Name,
    string Size,
    string? Format = null,
    string? Access = null,
    string? WriteCacheMode = null,
    string? Description = null);
