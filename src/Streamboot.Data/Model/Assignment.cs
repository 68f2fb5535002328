namespace Streamboot.Data.Model;

/// <summary>A vDisk a device may boot; a device with several sees a boot menu in <see cref="Position"/> order.</summary>
public sealed class Assignment
{
    public long DeviceId { get; set; }

    public Device? Device { get; set; }

    public long VDiskId { get; set; }

    public VDisk? VDisk { get; set; }

    /// <summary>At most one per device (a partial unique index); booted when the menu times out.</summary>
    public bool IsDefault { get; set; }

    public int Position { get; set; }

    public DateTime CreatedAt { get; set; }
}
