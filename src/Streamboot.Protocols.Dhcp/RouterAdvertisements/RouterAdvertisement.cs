using System.Buffers.Binary;

namespace Streamboot.Protocols.Dhcp.RouterAdvertisements;

/// <summary>
/// ICMPv6 Router Advertisement (RFC 4861 §4.2) of a router that is not one:
/// router lifetime 0 (nobody makes us their default route), M and O off (no
/// DHCPv6), no prefix (no SLAAC address). It exists to end the wait of
/// clients like iPXE that solicit routers before they go on (about 13 s).
/// The checksum is left 0: the kernel fills it for raw ICMPv6 sockets.
/// </summary>
internal static class RouterAdvertisement
{
    public const byte RouterSolicitationType = 133;
    public const byte RouterAdvertisementType = 134;
    private const byte SourceLinkLayerAddressOption = 1;

    public static byte[] Build(ReadOnlySpan<byte> sourceMac)
    {
        var withMac = sourceMac.Length == 6;
        var packet = new byte[16 + (withMac ? 8 : 0)];
        packet[0] = RouterAdvertisementType;
        packet[1] = 0; // code
        // [2..4) checksum, by the kernel.
        packet[4] = 0; // current hop limit: unspecified, keep the client's
        packet[5] = 0; // M = 0, O = 0
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), 0); // router lifetime
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), 0); // reachable time: unspecified
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), 0); // retrans timer: unspecified
        if (withMac)
        {
            packet[16] = SourceLinkLayerAddressOption;
            packet[17] = 1; // in units of 8 bytes
            sourceMac.CopyTo(packet.AsSpan(18));
        }

        return packet;
    }
}
