namespace Streamboot.Data.Model;

/// <summary>A client machine, known by its MAC address.</summary>
public sealed class Device
{
    public long Id { get; set; }

    /// <summary>Canonical form, lower-case and colon separated (<see cref="MacAddress.ToString()"/>).</summary>
    public required string Mac { get; set; }

    /// <summary>The computer name the OS is given; unique, case-insensitively.</summary>
    public required string Name { get; set; }

    /// <summary>Made once when the device is added and never reused (the OS's machine id).</summary>
    public Guid MachineId { get; set; }

    public long CollectionId { get; set; }

    public Collection? Collection { get; set; }

    public string? Description { get; set; }

    public bool Enabled { get; set; } = true;

    public DeviceType Type { get; set; } = DeviceType.Production;

    /// <summary>Overrides the vDisk's write-cache mode when set.</summary>
    public WriteCacheMode? WriteCacheMode { get; set; }

    /// <summary>Keep the server-side write cache across boots instead of discarding it.</summary>
    public bool PersistentWriteCache { get; set; }

    /// <summary>A fixed IPv4 address the server's DHCP (full mode) always gives this device.</summary>
    public string? IpAddress { get; set; }

    /// <summary>What DHCP sends it as a x64 UEFI client; null: its collection's choice.</summary>
    public BootLoader? BootLoader { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }

    public List<Assignment> Assignments { get; } = [];
}
