namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>Wire constants of BOOTP/DHCP (RFC 951, RFC 2131 §2) and PXE (PXE 2.1 §2).</summary>
public static class DhcpProtocol
{
    /// <summary>Where servers listen (RFC 2131 §4.1).</summary>
    public const int ServerPort = 67;

    /// <summary>Where clients listen.</summary>
    public const int ClientPort = 68;

    /// <summary>The PXE boot server port (PXE 2.1 §2.2.5): proxyDHCP REQUESTs and BINL-style requests of UEFI firmware.</summary>
    public const int PxePort = 4011;

    /// <summary>op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file.</summary>
    public const int FixedHeaderLength = 236;

    /// <summary>The fixed header and the magic cookie; options start here.</summary>
    public const int OptionsOffset = FixedHeaderLength + 4;

    /// <summary>99.130.83.99 (RFC 2131 §3).</summary>
    public const uint MagicCookie = 0x63825363;

    /// <summary>BOOTP relays and some clients drop shorter packets (RFC 1542 §2.1), so replies are padded to it.</summary>
    public const int MinimumPacketLength = 300;

    /// <summary>What every client must accept (RFC 2131 §2) unless it sends option 57.</summary>
    public const int DefaultMaximumMessageSize = 576;

    /// <summary>The largest DHCP message that fits an Ethernet frame without fragments: 1500 - 20 (IP) - 8 (UDP).</summary>
    public const int MaximumDatagramLength = 1472;

    /// <summary>The BROADCAST bit of the flags field (RFC 2131 §2, figure 2).</summary>
    public const ushort BroadcastFlag = 0x8000;

    public const int ChaddrOffset = 28;
    public const int ChaddrLength = 16;
    public const int SnameOffset = 44;
    public const int SnameLength = 64;
    public const int FileOffset = 108;
    public const int FileLength = 128;

    /// <summary>Ethernet (10 Mb) in the htype field; the ARP hardware type number.</summary>
    public const byte HardwareTypeEthernet = 1;

    /// <summary>Option 60 of a PXE ROM starts with this (PXE 2.1 §2.4, "PXEClient:Arch:xxxxx:UNDI:yyyzzz").</summary>
    public const string PxeClientClass = "PXEClient";
}
