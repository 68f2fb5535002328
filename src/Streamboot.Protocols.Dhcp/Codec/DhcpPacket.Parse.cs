using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Streamboot.Protocols.Dhcp.Codec;

public sealed partial class DhcpPacket
{
    /// <summary>
    /// Reads a datagram. Every length is checked against the field it lies in
    /// before it is used, so no input throws: a refusal is a
    /// <see cref="DhcpParseError"/>. Options continue in file and sname when
    /// option 52 says so, and repeated codes are joined (RFC 3396), in the
    /// order options, file, sname (RFC 3396 §6). A missing end option is
    /// tolerated: the field's end ends it.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, [NotNullWhen(true)] out DhcpPacket? packet, out DhcpParseError error)
    {
        packet = null;
        if (datagram.Length < DhcpProtocol.OptionsOffset)
        {
            error = DhcpParseError.Truncated;
            return false;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[DhcpProtocol.FixedHeaderLength..]) != DhcpProtocol.MagicCookie)
        {
            error = DhcpParseError.BadMagicCookie;
            return false;
        }

        var op = datagram[0];
        if (op is not ((byte)DhcpOpCode.BootRequest or (byte)DhcpOpCode.BootReply))
        {
            error = DhcpParseError.BadOpCode;
            return false;
        }

        var hlen = datagram[2];
        if (hlen > DhcpProtocol.ChaddrLength)
        {
            error = DhcpParseError.BadHardwareAddressLength;
            return false;
        }

        var options = new DhcpOptions();
        error = ReadOptions(datagram[DhcpProtocol.OptionsOffset..], options, optionsField: true);
        if (error != DhcpParseError.None)
        {
            return false;
        }

        var file = datagram.Slice(DhcpProtocol.FileOffset, DhcpProtocol.FileLength);
        var sname = datagram.Slice(DhcpProtocol.SnameOffset, DhcpProtocol.SnameLength);
        var overload = options.Get(DhcpOptionCode.OptionOverload);
        var fileHoldsOptions = false;
        var snameHoldsOptions = false;
        if (overload is not null)
        {
            if (overload is not [>= 1 and <= 3])
            {
                error = DhcpParseError.BadOptionOverload;
                return false;
            }

            fileHoldsOptions = (overload[0] & 1) != 0;
            snameHoldsOptions = (overload[0] & 2) != 0;
            if (fileHoldsOptions && (error = ReadOptions(file, options, optionsField: false)) != DhcpParseError.None)
            {
                return false;
            }

            if (snameHoldsOptions && (error = ReadOptions(sname, options, optionsField: false)) != DhcpParseError.None)
            {
                return false;
            }
        }

        switch (options.Get(DhcpOptionCode.MessageType))
        {
            case null:
                error = DhcpParseError.MissingMessageType;
                return false;
            case { Length: not 1 }:
                error = DhcpParseError.BadMessageType;
                return false;
            case [< (byte)DhcpMessageType.Discover or > (byte)DhcpMessageType.Inform]:
                error = DhcpParseError.UnknownMessageType;
                return false;
        }

        packet = new DhcpPacket
        {
            Op = (DhcpOpCode)op,
            HardwareType = datagram[1],
            HardwareAddressLength = hlen,
            Hops = datagram[3],
            TransactionId = BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]),
            Seconds = BinaryPrimitives.ReadUInt16BigEndian(datagram[8..]),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(datagram[10..]),
            Ciaddr = new IPAddress(datagram.Slice(12, 4)),
            Yiaddr = new IPAddress(datagram.Slice(16, 4)),
            Siaddr = new IPAddress(datagram.Slice(20, 4)),
            Giaddr = new IPAddress(datagram.Slice(24, 4)),
            Chaddr = datagram.Slice(DhcpProtocol.ChaddrOffset, DhcpProtocol.ChaddrLength).ToArray(),
            Sname = snameHoldsOptions ? "" : NulTerminated(sname),
            File = fileHoldsOptions ? "" : NulTerminated(file),
            Options = options,
        };
        return true;
    }

    /// <summary>Reads one option area: pad, end, and code-length-value triples that must stay inside it.</summary>
    private static DhcpParseError ReadOptions(ReadOnlySpan<byte> field, DhcpOptions options, bool optionsField)
    {
        var i = 0;
        while (i < field.Length)
        {
            var code = (DhcpOptionCode)field[i];
            if (code == DhcpOptionCode.End)
            {
                return DhcpParseError.None;
            }

            if (code == DhcpOptionCode.Pad)
            {
                i++;
                continue;
            }

            if (i + 1 >= field.Length)
            {
                return DhcpParseError.OptionTruncated;
            }

            var length = field[i + 1];
            if (i + 2 + length > field.Length)
            {
                return DhcpParseError.OptionOverrun;
            }

            // Option 52 only means something in the options field (RFC 2132 §9.3).
            if (optionsField || code != DhcpOptionCode.OptionOverload)
            {
                options.Append(code, field.Slice(i + 2, length));
            }

            i += 2 + length;
        }

        return DhcpParseError.None;
    }

    private static string NulTerminated(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return DhcpOptions.Text(end < 0 ? field : field[..end]);
    }
}
