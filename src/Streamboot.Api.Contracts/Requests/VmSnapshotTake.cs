namespace Streamboot.Api.Contracts.Requests;

/// <summary>A snapshot to take (<c>vm snapshot VM take NAME</c>): with the memory when the VM runs.</summary>
public sealed record VmSnapshotTake(string? Name = null);
