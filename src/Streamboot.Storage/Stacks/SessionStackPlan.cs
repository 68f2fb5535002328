namespace Streamboot.Storage.Stacks;

/// <summary>
/// Everything that decides one session's stack: which image (by an id never
/// reused and its top file), where writes go, and whether the first reads
/// are recorded as a boot profile.
/// </summary>
public sealed record SessionStackPlan(long ImageId, string TopFile, long Size, WriteCacheLayer WriteCache)
{
    /// <summary>The qcow2 overlay (<see cref="WriteCacheLayer.Qcow2File"/>) or the RAM overflow file (<see cref="WriteCacheLayer.Ram"/>).</summary>
    public string? CacheFile { get; init; }

    /// <summary><see cref="WriteCacheLayer.Ram"/>: bytes kept in RAM before the overflow file takes the rest.</summary>
    public long RamBytes { get; init; }

    /// <summary>Record the reads of the session's first <see cref="ProfileRecording.Window"/> (a boot profile).</summary>
    public ProfileRecording? Recording { get; init; }
}

/// <summary>How long and how much a boot-profile recorder records.</summary>
public sealed record ProfileRecording(TimeSpan Window, long MaxBytes);
