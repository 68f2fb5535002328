namespace Streamboot.Api.Contracts.Requests;

/// <summary>A new version of a vDisk (<c>vdisk version new</c>), or its promotion.</summary>
public sealed record VersionChange(string? Description = null, string? To = null);
