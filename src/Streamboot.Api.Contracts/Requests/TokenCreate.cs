namespace Streamboot.Api.Contracts.Requests;

/// <summary>A token to make; its secret comes back once, in the answer.</summary>
public sealed record TokenCreate(string Name, string Scope);
