using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>A stable, readable rendering of parsed packets for golden files (pixiecore's dhcp.pcap -> dhcp.parsed).</summary>
public static class PacketText
{
    public static string Render(IEnumerable<Pcap.Datagram> datagrams)
    {
        var text = new StringBuilder();
        foreach (var d in datagrams)
        {
            text.Append(CultureInfo.InvariantCulture, $"packet {d.Number}: {d.Source} -> {d.Destination}, {d.Payload.Length} bytes\n");
            if (!DhcpPacket.TryParse(d.Payload, out var packet, out var error))
            {
                text.Append(CultureInfo.InvariantCulture, $"  refused: {error}\n\n");
                continue;
            }

            text.Append(Render(packet)).Append('\n');
        }

        return text.ToString();
    }

    public static string Render(DhcpPacket p)
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.Append(inv, $"  {p.Op} {p.MessageType} xid 0x{p.TransactionId:x8} secs {p.Seconds} flags 0x{p.Flags:x4} hops {p.Hops}\n");
        text.Append(inv, $"  htype {p.HardwareType} hlen {p.HardwareAddressLength} chaddr {Convert.ToHexString(p.Chaddr.AsSpan(0, p.HardwareAddressLength)).ToLowerInvariant()}\n");
        text.Append(inv, $"  ciaddr {p.Ciaddr} yiaddr {p.Yiaddr} siaddr {p.Siaddr} giaddr {p.Giaddr}\n");
        text.Append(inv, $"  sname \"{p.Sname}\" file \"{p.File}\"\n");
        foreach (var option in p.Options)
        {
            var name = Enum.IsDefined(option.Code) ? option.Code.ToString() : "?";
            text.Append(inv, $"  option {(byte)option.Code,3} {name}: {Value(option)}\n");
        }

        return text.ToString();
    }

    private static string Value(DhcpOption option)
    {
        var v = option.Value;
        return option.Code switch
        {
            DhcpOptionCode.MessageType when v.Length == 1 => ((DhcpMessageType)v[0]).ToString(),
            DhcpOptionCode.SubnetMask or DhcpOptionCode.Router or DhcpOptionCode.DomainNameServer or DhcpOptionCode.BroadcastAddress
                or DhcpOptionCode.RequestedIpAddress or DhcpOptionCode.ServerIdentifier when v.Length % 4 == 0 && v.Length > 0 =>
                string.Join(' ', v.Chunk(4).Select(a => new IPAddress(a).ToString())),
            DhcpOptionCode.IpAddressLeaseTime or DhcpOptionCode.RenewalTime or DhcpOptionCode.RebindingTime when v.Length == 4 =>
                BinaryPrimitives.ReadUInt32BigEndian(v).ToString(CultureInfo.InvariantCulture),
            DhcpOptionCode.MaximumMessageSize when v.Length == 2 => BinaryPrimitives.ReadUInt16BigEndian(v).ToString(CultureInfo.InvariantCulture),
            DhcpOptionCode.ClientSystemArchitecture when v.Length == 2 => ((DhcpClientArchitecture)BinaryPrimitives.ReadUInt16BigEndian(v)).ToString(),
            DhcpOptionCode.ParameterRequestList => string.Join(' ', v),
            DhcpOptionCode.VendorSpecificInformation or DhcpOptionCode.IpxeEncapsulated when EncapsulatedOptions.Parse(v) is { } subs =>
                string.Join(' ', subs.Select(s => $"[{s.Code}: {Convert.ToHexString(s.Value).ToLowerInvariant()}]")),
            _ when v.Length > 0 && v.All(b => b is >= 0x20 and < 0x7f) => $"\"{Encoding.ASCII.GetString(v)}\"",
            _ => Convert.ToHexString(v).ToLowerInvariant(),
        };
    }
}
