using System.Linq.Expressions;

namespace Streamboot.Data.Model;

/// <summary>
/// One boot of a device, from the boot script that announced it to the next
/// boot that really starts. The script hands the client <see cref="Key"/>,
/// an unguessable secret; the device's disk views accept only a key of one
/// of its boots. A boot is <em>pending</em> until its key first opens the
/// disk (<see cref="StartedAt"/> null), then <em>running</em>: at most one
/// running boot per device (a partial unique index), which keeps its key
/// and its version through reconnects and server restarts, until another
/// boot of the device starts.
/// </summary>
public sealed class Boot
{
    public long Id { get; set; }

    public long DeviceId { get; set; }

    public Device? Device { get; set; }

    /// <summary>128 random bits as 32 lower-case hex digits.</summary>
    public required string Key { get; set; }

    /// <summary>The vDisk the boot script chose; the key opens no other.</summary>
    public long VDiskId { get; set; }

    public DateTime IssuedAt { get; set; }

    /// <summary>The address the boot script was sent to.</summary>
    public string? IssuedTo { get; set; }

    /// <summary>When the key first opened the disk: the boot started (null while pending).</summary>
    public DateTime? StartedAt { get; set; }

    /// <summary>
    /// When the client's own OS first connected the disk as its root: the
    /// client boot component's NBD connection (iPXE speaks HTTP and iSCSI,
    /// never NBD). For a kernel and initrd boot that is <see cref="StartedAt"/>;
    /// for a SAN boot over HTTP it comes later, once the disk's boot loader,
    /// kernel and initramfs have run. Null while only the firmware has read
    /// the disk, and for OSes that keep the firmware's connection (Windows
    /// over iSCSI).
    /// </summary>
    public DateTime? RootConnectedAt { get; set; }

    /// <summary>The address that first opened the disk with the key.</summary>
    public string? Address { get; set; }

    /// <summary>The version the boot runs, pinned when it started: reconnects get the same disk, whatever is promoted meanwhile.</summary>
    public int? VersionNumber { get; set; }

    /// <summary>
    /// The key was handed to a client that asked without it (a SAN-booted
    /// disk's OS asking <c>/boot/identity</c> from the boot's address): that
    /// happens once per boot, before any user of the client's OS could ask.
    /// </summary>
    public bool KeyGiven { get; set; }

    /// <summary>
    /// When its session ended (the client finished, shut down or gave up):
    /// from then on the boot no longer counts against a server's
    /// <c>--max-booting</c>, whatever is left of the booting window.
    /// </summary>
    public DateTime? FinishedAt { get; set; }

    /// <summary>The server the boot script sent the client to (null: placed before the farm, or that server was removed).</summary>
    public long? ServerId { get; set; }

    /// <summary>
    /// Which boots count as booting (<c>--max-booting</c>, <c>server list</c>):
    /// issued at or after <paramref name="since"/> (the booting window) and
    /// not finished. One definition for placement, heartbeats and listings.
    /// </summary>
    public static Expression<Func<Boot, bool>> BootingSince(DateTime since) => b => b.IssuedAt >= since && b.FinishedAt == null;
}
