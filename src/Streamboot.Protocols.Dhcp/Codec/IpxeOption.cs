namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>Sub-options of iPXE's encapsulated option 175 (iPXE's include/ipxe/dhcp.h) that this server uses.</summary>
public enum IpxeOption : byte
{
    /// <summary>
    /// no-pxedhcp: 1 tells iPXE not to wait for a ProxyDHCP offer. Without it
    /// iPXE waits about 3 s whenever the DHCP answer says PXEClient.
    /// </summary>
    NoPxeDhcp = 176,
}
