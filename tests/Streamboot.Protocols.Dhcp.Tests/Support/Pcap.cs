using System.Buffers.Binary;
using System.Net;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>The UDP datagrams of a classic pcap file of Ethernet frames (what tcpdump -w writes), IPv4 only.</summary>
public static class Pcap
{
    public sealed record Datagram(int Number, IPEndPoint Source, IPEndPoint Destination, byte[] Payload);

    public static IReadOnlyList<Datagram> ReadUdp(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        var littleEndian = magic is 0xa1b2c3d4 or 0xa1b23c4d;
        if (!littleEndian && magic is not (0xd4c3b2a1 or 0x4d3cb2a1))
        {
            throw new InvalidDataException($"{path} is not a pcap file");
        }

        uint U32(int offset) => littleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset)) : BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset));
        if (U32(20) != 1)
        {
            throw new InvalidDataException($"{path}: link type {U32(20)}, not Ethernet (capture on one interface, not 'any')");
        }

        var datagrams = new List<Datagram>();
        var offset = 24;
        var number = 0;
        while (offset + 16 <= bytes.Length)
        {
            var length = (int)U32(offset + 8);
            var frame = bytes.AsSpan(offset + 16, length);
            offset += 16 + length;
            number++;
            var etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
            var ip = frame[14..];
            if (etherType != 0x0800 || ip[9] != 17)
            {
                continue;
            }

            var headerLength = (ip[0] & 0xf) * 4;
            var udp = ip[headerLength..];
            var udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
            datagrams.Add(new Datagram(
                number,
                new IPEndPoint(new IPAddress(ip.Slice(12, 4)), BinaryPrimitives.ReadUInt16BigEndian(udp)),
                new IPEndPoint(new IPAddress(ip.Slice(16, 4)), BinaryPrimitives.ReadUInt16BigEndian(udp[2..])),
                udp[8..udpLength].ToArray()));
        }

        return datagrams;
    }
}
