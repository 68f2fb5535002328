namespace Streamboot.Data.Model;

/// <summary>
/// A virtual machine this site made with <c>streamboot vm create</c>: the
/// hardware QEMU is given each time it starts, and the files it uses. The
/// password of an easy install is not here: only the seed image holds it,
/// as the hash the guest needs.
/// </summary>
public sealed class VirtualMachine
{
    public long Id { get; set; }

    /// <summary>Unique, case-insensitively (it names the VM's folder and QEMU process).</summary>
    public required string Name { get; set; }

    /// <summary>The folder that holds the VM's disk, seed, firmware variables, console log and sockets.</summary>
    public required string Folder { get; set; }

    /// <summary>The SMBIOS system UUID the guest sees (stable across starts, as a physical board's).</summary>
    public Guid Uuid { get; set; }

    public GuestOsFamily GuestOs { get; set; }

    /// <summary>Free text such as debian12, ubuntu24.04, win11.</summary>
    public string? GuestOsVersion { get; set; }

    /// <summary>QEMU machine type (hardware compatibility): q35, pc, pc-q35-7.2 ...</summary>
    public required string MachineType { get; set; }

    public VmFirmware Firmware { get; set; }

    public int Sockets { get; set; }

    public int CoresPerSocket { get; set; }

    public int MemoryMiB { get; set; }

    /// <summary>The disk image; null for a diskless (netboot) VM.</summary>
    public string? DiskFile { get; set; }

    public ImageFormat? DiskFormat { get; set; }

    public long? DiskSizeBytes { get; set; }

    public bool DiskPreallocated { get; set; }

    /// <summary>The disk's controller; null for VMs made before it was asked (the guest family's default).</summary>
    public VmDiskBus? DiskBus { get; set; }

    /// <summary>
    /// The disk is an existing image or a physical disk used where it is,
    /// not a file this VM made: <c>vm delete</c> leaves it alone.
    /// </summary>
    public bool DiskAttached { get; set; }

    /// <summary>The customized hardware (<see cref="VmExtraHardware"/>) as JSON; null for the defaults.</summary>
    public string? Hardware { get; set; }

    /// <summary>The installer ISO attached as a CD-ROM, if any.</summary>
    public string? InstallerIso { get; set; }

    /// <summary>The easy-install seed (cloud-init cidata or autounattend) attached as a second CD-ROM.</summary>
    public string? SeedFile { get; set; }

    public string? UserName { get; set; }

    public string? FullName { get; set; }

    public string? HostName { get; set; }

    public VmNetworkMode Network { get; set; }

    /// <summary>The host bridge for <see cref="VmNetworkMode.Bridge"/> (and netboot on a bridge).</summary>
    public string? Bridge { get; set; }

    /// <summary>Canonical MAC of the VM's network card.</summary>
    public required string Mac { get; set; }

    /// <summary>The device a netboot VM was registered as, if it was.</summary>
    public long? DeviceId { get; set; }

    public Device? Device { get; set; }

    public DateTime CreatedAt { get; set; }
}
