namespace Streamboot.Api.Contracts.Requests;

/// <summary>A server's farm settings to change (<c>server set</c>).</summary>
public sealed record ServerChange(int? Weight = null);
