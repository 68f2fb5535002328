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

    public long BytesRead { get; set; }

    public long BytesWritten { get; set; }

    public long WriteCacheBytes { get; set; }
}
