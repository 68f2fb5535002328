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

/// <summary>A sound card (Workstation's "Sound Card"); the host side is silent (QEMU's <c>none</c> audio backend): the guest sees a working card.</summary>
public enum VmSound
{
    None,

    /// <summary>Intel HD Audio (ICH6/ICH9) with a duplex codec: Windows 7+ and Linux have the driver.</summary>
    Hda,

    /// <summary>Intel AC'97: for old guests.</summary>
    Ac97,
}

/// <summary>The USB controller (Workstation's "USB compatibility"): none, 1.1 (UHCI), 2.0 (EHCI) or 3.x (xHCI).</summary>
public enum VmUsb
{
    None,
    Uhci,
    Ehci,
    Xhci,
}

/// <summary>The display adapter.</summary>
public enum VmDisplay
{
    /// <summary>QEMU's standard VGA with Bochs VBE: every firmware and OS drives it.</summary>
    Std,

    /// <summary>virtio-gpu with VGA compatibility: Linux's virtio_gpu, resizes with the window.</summary>
    Virtio,

    /// <summary>QXL (SPICE's card): Windows and Linux drivers from the SPICE guest tools.</summary>
    Qxl,

    /// <summary>Cirrus CLGD 5446: for very old guests.</summary>
    Cirrus,

    /// <summary>No display adapter: a serial console only.</summary>
    None,
}

/// <summary>One more disk of a VM: a new, blank disk in the VM's folder.</summary>
public sealed record VmExtraDisk(string File, ImageFormat Format, long SizeBytes, VmDiskBus Bus);

/// <summary>One more network card of a VM: NAT, or a host bridge.</summary>
public sealed record VmExtraNic(VmNetworkMode Network, string? Bridge, string Mac);

/// <summary>
/// The hardware Workstation's "Customize Hardware" page adds beyond the
/// wizard's questions. A VM made before it has these defaults: what
/// QEMU was given then (xHCI with a tablet, standard VGA, one serial port).
/// </summary>
public sealed record VmExtraHardware
{
    public const int MaxExtraDisks = 8;
    public const int MaxExtraNics = 4;
    public const int MaxSerialPorts = 4;

    public IReadOnlyList<VmExtraDisk> Disks { get; init; } = [];

    public IReadOnlyList<VmExtraNic> Nics { get; init; } = [];

    public VmSound Sound { get; init; }

    public VmUsb Usb { get; init; } = VmUsb.Xhci;

    /// <summary>A USB tablet: the pointer follows the VNC client's without grabbing.</summary>
    public bool Tablet { get; init; } = true;

    public VmDisplay Display { get; init; }

    /// <summary>A TPM 2.0 (swtpm, its state in the VM's folder): Windows 11's installer checks for one.</summary>
    public bool Tpm { get; init; }

    /// <summary>UEFI Secure Boot with Microsoft's keys enrolled (OVMF's SMM build, on Q35): Windows 11's installer checks for it.</summary>
    public bool SecureBoot { get; init; }

    /// <summary>Serial ports; the first is the console (log and <c>vm console</c>), the others sockets serialN.sock in the VM's folder.</summary>
    public int SerialPorts { get; init; } = 1;
}
