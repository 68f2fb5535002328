using System.Net;
using BenchmarkDotNet.Attributes;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Micro.Dhcp;

/// <summary>
/// The DHCP codec per packet: decoding a PXE ROM's DISCOVER (as the server
/// reads every datagram), and encoding an OFFER, both building it the way a
/// responder does and writing an already built one into a send buffer.
/// </summary>
[MemoryDiagnoser]
public class DhcpCodecBenchmarks
{
    private static readonly IPAddress s_server = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress s_offered = IPAddress.Parse("10.0.0.50");
    private static readonly IPAddress s_mask = IPAddress.Parse("255.255.255.0");
    private readonly byte[] _send = new byte[1500];
    private byte[] _discover = null!;
    private DhcpPacket _offer = null!;

    [GlobalSetup]
    public void Setup()
    {
        var chaddr = new byte[16];
        MacAddress.Parse("02:5b:00:00:00:01").WriteBytes(chaddr);
        var discover = new DhcpPacket { TransactionId = 0x1234, Flags = DhcpProtocol.BroadcastFlag, Chaddr = chaddr };
        discover.Options
            .Set(DhcpOptionCode.MessageType, (byte)DhcpMessageType.Discover)
            .SetUInt16(DhcpOptionCode.MaximumMessageSize, 1260)
            .Set(DhcpOptionCode.ParameterRequestList, [1, 2, 3, 4, 5, 6, 11, 12, 13, 15, 16, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135])
            .SetUInt16(DhcpOptionCode.ClientSystemArchitecture, (ushort)DhcpClientArchitecture.EfiBc)
            .Set(DhcpOptionCode.ClientNetworkInterfaceIdentifier, [1, 2, 1])
            .Set(DhcpOptionCode.ClientMachineIdentifier, [0, .. Guid.Parse("4c4c4544-0042-3610-8052-b4c04f4e4d32").ToByteArray()])
            .Set(DhcpOptionCode.VendorClassIdentifier, "PXEClient:Arch:00007:UNDI:003016");
        _discover = discover.ToArray();
        _offer = BuildOffer(discover);
    }

    [Benchmark(Description = "DHCP decode DISCOVER")]
    public DhcpPacket? DecodeDiscover() => DhcpPacket.TryParse(_discover, out var packet, out _) ? packet : null;

    [Benchmark(Description = "DHCP build and encode OFFER")]
    public int BuildAndEncodeOffer() => BuildOffer(_offer).WriteTo(_send);

    [Benchmark(Description = "DHCP encode built OFFER")]
    public int EncodeOffer() => _offer.WriteTo(_send);

    private static DhcpPacket BuildOffer(DhcpPacket request)
    {
        var offer = new DhcpPacket
        {
            Op = DhcpOpCode.BootReply,
            TransactionId = request.TransactionId,
            Flags = request.Flags,
            Yiaddr = s_offered,
            Siaddr = s_server,
            Chaddr = request.Chaddr,
            File = "ipxe.efi",
        };
        offer.Options
            .Set(DhcpOptionCode.MessageType, (byte)DhcpMessageType.Offer)
            .Set(DhcpOptionCode.ServerIdentifier, s_server)
            .SetUInt32(DhcpOptionCode.IpAddressLeaseTime, 3600)
            .Set(DhcpOptionCode.SubnetMask, s_mask)
            .Set(DhcpOptionCode.Router, s_server)
            .Set(DhcpOptionCode.VendorClassIdentifier, "PXEClient")
            .Set(DhcpOptionCode.BootfileName, "ipxe.efi");
        return offer;
    }
}
