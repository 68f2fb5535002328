using System.Net;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>Requests as real clients send them, for raw-socket and responder tests.</summary>
public static class Requests
{
    private static int s_xid = Environment.ProcessId << 8;

    public static uint NextXid() => (uint)Interlocked.Increment(ref s_xid);

    public static readonly Guid MachineGuid = Guid.Parse("4c4c4544-0042-3610-8052-b4c04f4e4d32");

    /// <summary>A PXE 2.1 ROM's DISCOVER: option 60 with the architecture, 93, 94 (UNDI 2.1), 97, the ROM's parameter list, 57 = 1260.</summary>
    public static DhcpPacket PxeDiscover(MacAddress mac, DhcpClientArchitecture arch, DhcpMessageType type = DhcpMessageType.Discover, uint? xid = null)
    {
        var packet = New(mac, type, xid, broadcast: true);
        packet.Options
            .SetUInt16(DhcpOptionCode.MaximumMessageSize, 1260)
            .Set(DhcpOptionCode.ParameterRequestList, [1, 2, 3, 4, 5, 6, 11, 12, 13, 15, 16, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135])
            .SetUInt16(DhcpOptionCode.ClientSystemArchitecture, (ushort)arch)
            .Set(DhcpOptionCode.ClientNetworkInterfaceIdentifier, [1, 2, 1])
            .Set(DhcpOptionCode.ClientMachineIdentifier, [0, .. MachineGuid.ToByteArray()])
            .Set(DhcpOptionCode.VendorClassIdentifier, $"PXEClient:Arch:{(int)arch:D5}:UNDI:002001");
        return packet;
    }

    /// <summary>iPXE's DISCOVER: PXEClient vendor class, user class "iPXE", option 175 with its features.</summary>
    public static DhcpPacket IpxeDiscover(MacAddress mac, DhcpClientArchitecture arch, uint? xid = null)
    {
        var packet = PxeDiscover(mac, arch, DhcpMessageType.Discover, xid);
        packet.Options
            .Set(DhcpOptionCode.UserClass, "iPXE")
            .Set(DhcpOptionCode.IpxeEncapsulated, [177, 5, 1, 0x10, 0xec, 0x81, 0x39, 19, 1, 1, 17, 1, 1, 235, 3, 1, 0, 0, 24, 1, 1, 255]);
        return packet;
    }

    public static DhcpPacket New(MacAddress mac, DhcpMessageType type, uint? xid = null, bool broadcast = false, IPAddress? ciaddr = null)
    {
        var chaddr = new byte[16];
        mac.WriteBytes(chaddr);
        var packet = new DhcpPacket
        {
            TransactionId = xid ?? NextXid(),
            Flags = broadcast ? DhcpProtocol.BroadcastFlag : (ushort)0,
            Chaddr = chaddr,
            Ciaddr = ciaddr ?? IPAddress.Any,
        };
        packet.Options.Set(DhcpOptionCode.MessageType, (byte)type);
        return packet;
    }
}
