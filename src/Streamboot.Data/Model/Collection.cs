namespace Streamboot.Data.Model;

/// <summary>A group of devices that share a naming pattern, a default vDisk and an unknown-device policy.</summary>
public sealed class Collection
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public string? Description { get; set; }

    /// <summary>Names of new devices, for example <c>LAB-###</c>.</summary>
    public required string NamingPattern { get; set; }

    public long? DefaultVDiskId { get; set; }

    public VDisk? DefaultVDisk { get; set; }

    public UnknownDevicePolicy UnknownDevicePolicy { get; set; } = UnknownDevicePolicy.Refuse;

    /// <summary>Machines the database does not know fall into this collection (at most one does).</summary>
    public bool ReceivesUnknown { get; set; }

    /// <summary>How its devices boot, whatever their vDisk says; null: as the vDisk says.</summary>
    public BootProtocol? BootProtocol { get; set; }

    /// <summary>What DHCP sends its x64 UEFI devices (each device may say otherwise); null: auto.</summary>
    public BootLoader? BootLoader { get; set; }

    public DateTime CreatedAt { get; set; }

    public List<Device> Devices { get; } = [];
}
