using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

public sealed record SessionView(
    long Id,
    string? Device,
    string? Mac,
    string VDisk,
    int Version,
    string? Server,
    string Protocol,
    string? RemoteAddress,
    WriteCacheMode WriteCacheMode,
    DateTime StartedAt,
    DateTime LastActivityAt,
    DateTime? EndedAt,
    long BytesRead,
    long BytesWritten,
    long WriteCacheBytes)
{
    /// <summary>When this session's boot was issued (its boot script); null for sessions older than migration M0017.</summary>
    public DateTime? BootIssuedAt { get; init; }

    /// <summary>When that boot's key first opened the disk: the firmware's or the OS's first read.</summary>
    public DateTime? BootStartedAt { get; init; }

    /// <summary>When that boot's OS connected its root (the client boot component over NBD); null until then, or for an OS that keeps the firmware's connection.</summary>
    public DateTime? BootRootConnectedAt { get; init; }

    /// <summary>
    /// The boot's duration as the server sees it, in seconds to a tenth: from
    /// its boot script to its OS connecting its root (firmware, iPXE, kernel
    /// and initrd, over HTTP or a SAN boot's own loader, up to the initramfs
    /// connecting the root); for an OS that never connects one of its own
    /// (Windows keeps iPXE's iSCSI session), to the disk's first open.
    /// Another server of a farm may have issued the boot, so never below zero.
    /// </summary>
    public double? BootSeconds => BootIssuedAt is { } issued && (BootRootConnectedAt ?? BootStartedAt) is { } root
        ? Math.Round(Math.Max(0, (root - issued).TotalSeconds), 1)
        : null;
}
