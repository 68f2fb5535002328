namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>Sub-options of option 43 for a PXE client (PXE 2.1 §2.4, table 2-1).</summary>
public enum PxeVendorOption : byte
{
    DiscoveryMulticastAddress = 1,

    /// <summary>
    /// PXE_DISCOVERY_CONTROL: bit 0 no broadcast discovery, bit 1 no multicast
    /// discovery, bit 2 only servers in PXE_BOOT_SERVERS, bit 3 boot the file
    /// of this offer without prompt, menu or discovery.
    /// </summary>
    DiscoveryControl = 6,
    BootServers = 8,
    BootMenu = 9,
    MenuPrompt = 10,

    /// <summary>PXE_BOOT_ITEM: boot server type and layer, in requests to port 4011 and their ACK.</summary>
    BootItem = 71,
}
