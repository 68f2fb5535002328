namespace Streamboot.Admin;

/// <summary>What <c>vdisk set</c> changes; null leaves a field as it is (an empty description clears it).</summary>
public sealed record VDiskChanges(string? Description = null, string? WriteCacheMode = null, bool? AnonymousReads = null, string? BootProtocol = null);
