using Streamboot.Vms.Seeds;

namespace Streamboot.Admin.VirtualMachines;

/// <summary>A new VM with every choice made and checked: what the summary shows and <see cref="VmAdmin.CreateAsync"/> builds.</summary>
public sealed record VmPlan
{
    public required string Name { get; init; }

    public required string Folder { get; init; }

    public required string MachineType { get; init; }

    public GuestOsFamily GuestOs { get; init; }

    public string? GuestOsVersion { get; init; }

    public string? InstallerIso { get; init; }

    public string? InstallerVolumeId { get; init; }

    /// <summary>Easy install, when asked for; it holds the password until the seed is written.</summary>
    public EasyInstall? EasyInstall { get; init; }

    public int Sockets { get; init; }

    public int CoresPerSocket { get; init; }

    public int MemoryMiB { get; init; }

    /// <summary>Null for a diskless (netboot) VM.</summary>
    public VmDiskPlan? Disk { get; init; }

    /// <summary>More disks and NICs, sound, USB, display, serial ports.</summary>
    public VmExtraHardware Extra { get; init; } = new();

    public VmFirmware Firmware { get; init; }

    public VmNetworkMode Network { get; init; }

    public string? Bridge { get; init; }

    public string? Collection { get; init; }

    public required string Mac { get; init; }

    /// <summary>Things worth saying before the VM is made (KVM missing, and so on).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    public int Cpus => Sockets * CoresPerSocket;
}
