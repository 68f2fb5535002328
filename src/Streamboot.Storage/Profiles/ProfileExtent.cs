namespace Streamboot.Storage.Profiles;

/// <summary>A run of bytes a boot read, at the read cache's block granularity.</summary>
public readonly record struct ProfileExtent(long Offset, long Length);
