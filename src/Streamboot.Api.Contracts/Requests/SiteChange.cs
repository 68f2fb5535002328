namespace Streamboot.Api.Contracts.Requests;

/// <summary>Site-wide settings to change (<c>site set</c>): how vDisks are stored, shared or replicated.</summary>
public sealed record SiteChange(string? Store = null);
