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
