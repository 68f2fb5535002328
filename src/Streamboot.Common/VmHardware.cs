namespace Streamboot;

// The words a virtual machine's definition is made of. The site database
// stores them (as kebab-case text) and the QEMU layer turns them into
// hardware; both reference only Common, so the vocabulary lives here.

/// <summary>The guest's family: it picks the virtual hardware its installer has drivers for.</summary>
public enum GuestOsFamily
{
    /// <summary>virtio disk and network (every Linux kernel since 2.6.25 has the drivers).</summary>
    Linux,

    /// <summary>SATA disk and an Intel NIC: Windows Setup has no virtio drivers of its own.</summary>
    Windows,

    /// <summary>IDE disk and an e1000: what any installer understands.</summary>
    Other,
}

/// <summary>What the VM's firmware is: SeaBIOS, or UEFI from OVMF.</summary>
public enum VmFirmware
{
    Bios,
    Uefi,
}

/// <summary>How the VM's one network card is connected.</summary>
public enum VmNetworkMode
{
    /// <summary>QEMU's user-mode NAT: outbound connections through the host, nothing to set up.</summary>
    Nat,

    /// <summary>A tap device on a host bridge: the VM is on that network like a physical machine.</summary>
    Bridge,

    /// <summary>No disk: the VM boots from this Streamboot server over the network (a diskless client).</summary>
    Netboot,

    /// <summary>No network card.</summary>
    None,
}

/// <summary>
/// The disk's I/O controller and disk type, as Workstation's wizard asks
/// them: what the guest's installer needs drivers for.
/// </summary>
public enum VmDiskBus
{
    /// <summary>virtio-blk: the fastest, one PCI device per disk (/dev/vdX in Linux).</summary>
    VirtioBlk,

    /// <summary>A virtio SCSI controller with SCSI disks on it (/dev/sdX; TRIM, many disks on one controller).</summary>
    VirtioScsi,

    /// <summary>SATA on an AHCI controller: every OS has the driver (Q35's own, or an added one on the i440FX).</summary>
    Sata,

    /// <summary>An NVMe controller with one namespace (/dev/nvme0n1; Windows 10 and newer have the driver).</summary>
    Nvme,

    /// <summary>IDE on the i440FX's PIIX controller: for old guests (Q35 has no IDE).</summary>
    Ide,
}
