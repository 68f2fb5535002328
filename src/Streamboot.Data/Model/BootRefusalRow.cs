namespace Streamboot.Data.Model;

/// <summary>
/// The last boot a known device was refused, and why: what its screen said,
/// kept for the admin (<c>session list</c>), since a refused client streams
/// nothing and so has no session. One row per device, written again at each
/// refusal; a boot of the device that starts afterwards makes it history.
/// Machines the database does not know are not recorded (anyone can make up
/// MAC addresses): the server log has them.
/// </summary>
public sealed class BootRefusalRow
{
    public long Id { get; set; }

    public long DeviceId { get; set; }

    public Device? Device { get; set; }

    /// <summary>The vDisk it would have booted, when the refusal came after the choice (a kernel Secure Boot refuses).</summary>
    public string? VDisk { get; set; }

    public int? VersionNumber { get; set; }

    /// <summary>The server that refused it.</summary>
    public long? ServerId { get; set; }

    public Server? Server { get; set; }

    public string? RemoteAddress { get; set; }

    /// <summary>What asked: ipxe or secure-boot (shim and GRUB).</summary>
    public BootLoader Loader { get; set; }

    /// <summary>The refusal's kind in kebab-case (not-assigned, unsigned-kernel, ...).</summary>
    public required string Reason { get; set; }

    /// <summary>The sentence the client's screen showed.</summary>
    public required string Message { get; set; }

    public DateTime RefusedAt { get; set; }
}
