using System.Buffers.Binary;
using System.Text;

namespace Streamboot.Protocols.Dhcp.Codec;

public sealed partial class DhcpPacket
{
    /// <summary>
    /// The bytes this packet takes on the wire: fixed header, cookie, option 53
    /// first (some ROMs look only there), the rest in order, each value longer
    /// than 255 bytes split into consecutive instances (RFC 3396), end, and
    /// padding to 300 bytes. Options stay in the options field; sname and file
    /// hold names.
    /// </summary>
    public int Length => Math.Max(DhcpProtocol.MinimumPacketLength, DhcpProtocol.OptionsOffset + OptionsLength() + 1);

    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>Writes the packet and returns its length (<see cref="Length"/>).</summary>
    public int WriteTo(Span<byte> destination)
    {
        var length = Length;
        if (destination.Length < length)
        {
            throw new ArgumentException($"the packet needs {length} bytes", nameof(destination));
        }

        if (Encoding.ASCII.GetByteCount(Sname) >= DhcpProtocol.SnameLength || Encoding.ASCII.GetByteCount(File) >= DhcpProtocol.FileLength)
        {
            throw new InvalidOperationException("sname is at most 63 and file at most 127 bytes (they end with a NUL)");
        }

        var d = destination[..length];
        d.Clear();
        d[0] = (byte)Op;
        d[1] = HardwareType;
        d[2] = HardwareAddressLength;
        d[3] = Hops;
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], TransactionId);
        BinaryPrimitives.WriteUInt16BigEndian(d[8..], Seconds);
        BinaryPrimitives.WriteUInt16BigEndian(d[10..], Flags);
        DhcpOptions.WriteAddress(Ciaddr, d[12..]);
        DhcpOptions.WriteAddress(Yiaddr, d[16..]);
        DhcpOptions.WriteAddress(Siaddr, d[20..]);
        DhcpOptions.WriteAddress(Giaddr, d[24..]);
        Chaddr.CopyTo(d[DhcpProtocol.ChaddrOffset..]);
        Encoding.ASCII.GetBytes(Sname, d[DhcpProtocol.SnameOffset..]);
        Encoding.ASCII.GetBytes(File, d[DhcpProtocol.FileOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(d[DhcpProtocol.FixedHeaderLength..], DhcpProtocol.MagicCookie);

        // Option 53 first, then the rest in order.
        var options = Options.AsSpan();
        var i = DhcpProtocol.OptionsOffset;
        foreach (var option in options)
        {
            if (option.Code == DhcpOptionCode.MessageType)
            {
                i = WriteOption(d, i, option);
            }
        }

        foreach (var option in options)
        {
            if (option.Code != DhcpOptionCode.MessageType)
            {
                i = WriteOption(d, i, option);
            }
        }

        d[i] = (byte)DhcpOptionCode.End;
        return length;
    }

    /// <summary>Writes one option at <paramref name="i"/>, in as many instances as its value needs; returns where the next one goes.</summary>
    private static int WriteOption(Span<byte> d, int i, DhcpOption option)
    {
        var value = option.Value.AsSpan();
        do
        {
            var chunk = Math.Min(value.Length, 255);
            d[i] = (byte)option.Code;
            d[i + 1] = (byte)chunk;
            value[..chunk].CopyTo(d[(i + 2)..]);
            i += 2 + chunk;
            value = value[chunk..];
        }
        while (!value.IsEmpty);
        return i;
    }

    private int OptionsLength()
    {
        var length = 0;
        foreach (var option in Options.AsSpan())
        {
            // An empty value still takes one instance: code and a zero length.
            var instances = Math.Max(1, (option.Value.Length + 254) / 255);
            length += (2 * instances) + option.Value.Length;
        }

        return length;
    }
}
