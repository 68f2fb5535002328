namespace Streamboot.Data.Model;

/// <summary>
/// A client streaming a vDisk version from a server. Live while
/// <see cref="EndedAt"/> is null; a partial unique index allows one live
/// session per device, so one identity never runs twice.
/// </summary>
public sealed class Session
{
    public long Id { get; set; }

    public long? DeviceId { get; set; }

    public Device? Device { get; set; }

    public long VDiskId { get; set; }

    public VDisk? VDisk { get; set; }

    public int VersionNumber { get; set; }

    public long? ServerId { get; set; }

    public Server? Server { get; set; }

    /// <summary>nbd, iscsi or http.</summary>
    public required string Protocol { get; set; }

    public string? RemoteAddress { get; set; }

    public WriteCacheMode WriteCacheMode { get; set; }

    public DateTime StartedAt { get; set; }

    public DateTime LastActivityAt { get; set; }

    public DateTime? EndedAt { get; set; }

    /// <summary>When the boot this session belongs to was issued: its boot script was written (migration M0017).</summary>
    public DateTime? BootIssuedAt { get; set; }

    /// <summary>When that boot's key first opened the disk (the firmware's or the OS's first read). Minus <see cref="BootIssuedAt"/>, the boot's time to disk.</summary>
    public DateTime? BootStartedAt { get; set; }

    /// <summary>When that boot's OS connected its root (<see cref="Boot.RootConnectedAt"/>); null until it has, or when it never does.</summary>
    public DateTime? BootRootConnectedAt { get; set; }

    public long BytesRead { get; set; }

    public long BytesWritten { get; set; }

    public long WriteCacheBytes { get; set; }

    /// <summary>
    /// An admin's <c>server rebalance</c> (or <c>drain --move</c>) asked its
    /// server to move it to another server; the server acts on it at its
    /// next maintenance tick. Null: stays.
    /// </summary>
    public DateTime? MoveRequestedAt { get; set; }

    /// <summary>Why it was asked to move (rebalance, drain), for the server's log.</summary>
    public string? MoveReason { get; set; }
}
