namespace Streamboot.Vms;

/// <summary>
/// A VM as QEMU is given it: the hardware and the files. The Admin layer
/// builds it from the VM's database row; <see cref="Qemu.QemuArguments"/>
/// turns it into a command line.
/// </summary>
public sealed record VmHardware
{
    public required string Name { get; init; }

    public required Guid Uuid { get; init; }

    public required string MachineType { get; init; }

    public GuestOsFamily GuestOs { get; init; }

    public VmFirmware Firmware { get; init; }

    public int Sockets { get; init; } = 1;

    public int CoresPerSocket { get; init; } = 1;

    public int MemoryMiB { get; init; } = 1024;

    /// <summary>The disk image, or null for a diskless VM.</summary>
    public string? DiskFile { get; init; }

    /// <summary>qemu's name of the disk's format: raw or qcow2.</summary>
    public string? DiskFormat { get; init; }

    /// <summary>The disk's controller; null for the guest family's default (<see cref="Qemu.QemuArguments.DefaultDiskBus"/>).</summary>
    public VmDiskBus? DiskBus { get; init; }

    public string? InstallerIso { get; init; }

    public string? SeedFile { get; init; }

    public VmNetworkMode Network { get; init; }

    public string? Bridge { get; init; }

    /// <summary>For netboot through QEMU's NAT: the boot script URL the VM's DHCP answer names.</summary>
    public string? NetbootUrl { get; init; }

    public required string Mac { get; init; }

    /// <summary>More disks and NICs, sound, USB, display, serial ports (Workstation's "Customize Hardware").</summary>
    public VmExtraHardware Extra { get; init; } = new();

    public int Cpus => Sockets * CoresPerSocket;
}
