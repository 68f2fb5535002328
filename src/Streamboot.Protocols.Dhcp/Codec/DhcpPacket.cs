using System.Net;

namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>
/// One BOOTP/DHCP message (RFC 2131 §2, figure 1). Field names are the RFC's.
/// <see cref="TryParse"/> reads a datagram; <see cref="ToArray"/> writes one.
/// </summary>
public sealed partial class DhcpPacket
{
    private byte[] _chaddr = new byte[DhcpProtocol.ChaddrLength];

    public DhcpOpCode Op { get; init; } = DhcpOpCode.BootRequest;

    /// <summary>htype: 1 for Ethernet.</summary>
    public byte HardwareType { get; init; } = DhcpProtocol.HardwareTypeEthernet;

    /// <summary>hlen: how many bytes of chaddr are the address (6 for Ethernet).</summary>
    public byte HardwareAddressLength { get; init; } = 6;

    public byte Hops { get; init; }

    /// <summary>xid.</summary>
    public uint TransactionId { get; init; }

    /// <summary>secs: seconds since the client began acquiring or renewing.</summary>
    public ushort Seconds { get; init; }

    public ushort Flags { get; init; }

    public bool Broadcast => (Flags & DhcpProtocol.BroadcastFlag) != 0;

    /// <summary>The client's address, when it has one and can answer ARP (BOUND, RENEW, REBINDING, INFORM).</summary>
    public IPAddress Ciaddr { get; init; } = IPAddress.Any;

    /// <summary>"your" address: what the server gives the client.</summary>
    public IPAddress Yiaddr { get; init; } = IPAddress.Any;

    /// <summary>The next server of the bootstrap (the TFTP server).</summary>
    public IPAddress Siaddr { get; init; } = IPAddress.Any;

    /// <summary>The relay agent's address.</summary>
    public IPAddress Giaddr { get; init; } = IPAddress.Any;

    /// <summary>chaddr, all 16 bytes; the first <see cref="HardwareAddressLength"/> are the address.</summary>
    public byte[] Chaddr
    {
        get => _chaddr;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length > DhcpProtocol.ChaddrLength)
            {
                throw new ArgumentException("chaddr is at most 16 bytes", nameof(value));
            }

            _chaddr = new byte[DhcpProtocol.ChaddrLength];
            value.CopyTo(_chaddr, 0);
        }
    }

    /// <summary>sname, up to the first NUL; empty when option 52 put options there.</summary>
    public string Sname { get; init; } = "";

    /// <summary>file, up to the first NUL; empty when option 52 put options there.</summary>
    public string File { get; init; } = "";

    public DhcpOptions Options { get; init; } = new();

    /// <summary>Option 53, or null for BOOTP (a parsed packet always has one).</summary>
    public DhcpMessageType? MessageType => Options.GetByte(DhcpOptionCode.MessageType) is { } t ? (DhcpMessageType)t : null;

    /// <summary>The client's MAC when chaddr holds an Ethernet address.</summary>
    public MacAddress? ClientMac =>
        HardwareType == DhcpProtocol.HardwareTypeEthernet && HardwareAddressLength == 6 ? MacAddress.FromBytes(_chaddr.AsSpan(0, 6)) : null;
}
