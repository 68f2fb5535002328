namespace Streamboot.Data.Model;

/// <summary>
/// One server's copy of one vDisk version in a replicated store: what its
/// bytes hashed to when last checked, and whether the server may serve it
/// (<see cref="ReplicaState.Verified"/> only).
/// </summary>
public sealed class VersionReplica
{
    public long VersionId { get; set; }

    public VDiskVersion? Version { get; set; }

    public long ServerId { get; set; }

    public Server? Server { get; set; }

    public ReplicaState State { get; set; }

    /// <summary>The SHA-256 (64 lower-case hex digits) the server's copy had when last hashed; null before it was.</summary>
    public string? HashSeen { get; set; }

    public DateTime CheckedAt { get; set; }

    /// <summary>
    /// The file as it was when hashed (device, inode, change time, length):
    /// a copy whose stamp changed was written to, and is hashed again before
    /// it is trusted. Meaningful only to the server that wrote it.
    /// </summary>
    public string? Stamp { get; set; }

    /// <summary>Why the copy is not verified (the last copy's failure), for <c>vdisk replicas</c>.</summary>
    public string? Message { get; set; }
}
