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

        // Repeated codes are joined (RFC 3396) in two passes over the option
        // areas, so that each byte is copied once: the first checks every
        // length and totals each code's value, the second copies the pieces
        // into arrays of those sizes. Joining piece by piece (copy what is
        // there, add the next) made a 65 KB datagram of 1-byte pieces cost
        // 237 MB: the square of its pieces.
        Span<int> lengths = stackalloc int[256];
        lengths.Fill(-1);
        Span<byte> order = stackalloc byte[256];
        var count = 0;
        var field = datagram[DhcpProtocol.OptionsOffset..];
        error = Measure(field, optionsField: true, lengths, order, ref count, out var overload);
        if (error != DhcpParseError.None)
        {
            return false;
        }

        var file = datagram.Slice(DhcpProtocol.FileOffset, DhcpProtocol.FileLength);
        var sname = datagram.Slice(DhcpProtocol.SnameOffset, DhcpProtocol.SnameLength);
        var fileHoldsOptions = false;
        var snameHoldsOptions = false;
        if (lengths[(int)DhcpOptionCode.OptionOverload] >= 0)
        {
            if (lengths[(int)DhcpOptionCode.OptionOverload] != 1 || overload is not (>= 1 and <= 3))
            {
                error = DhcpParseError.BadOptionOverload;
                return false;
            }

            fileHoldsOptions = (overload & 1) != 0;
            snameHoldsOptions = (overload & 2) != 0;
            if (fileHoldsOptions && (error = Measure(file, optionsField: false, lengths, order, ref count, out _)) != DhcpParseError.None)
            {
                return false;
            }

            if (snameHoldsOptions && (error = Measure(sname, optionsField: false, lengths, order, ref count, out _)) != DhcpParseError.None)
            {
                return false;
            }
        }

        var values = new byte[]?[256];
        var options = new DhcpOptions();
        foreach (var code in order[..count])
        {
            values[code] = new byte[lengths[code]];
            options.AddJoined((DhcpOptionCode)code, values[code]!);
        }

        Span<int> filled = stackalloc int[256];
        Copy(field, optionsField: true, values, filled);
        if (fileHoldsOptions)
        {
            Copy(file, optionsField: false, values, filled);
        }

        if (snameHoldsOptions)
        {
            Copy(sname, optionsField: false, values, filled);
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

    /// <summary>
    /// First pass over one option area: checks it, totals each code's length
    /// and notes codes in the order they first appear. Option 52 only means
    /// something in the options field (RFC 2132 §9.3); its byte (when its
    /// pieces total one) is given back to say which fields to read next.
    /// </summary>
    private static DhcpParseError Measure(ReadOnlySpan<byte> field, bool optionsField, Span<int> lengths, Span<byte> order, ref int count, out int overload)
    {
        overload = -1;
        var walker = new OptionWalker(field);
        while (walker.TryNext(out var code, out var value))
        {
            if (!optionsField && code == DhcpOptionCode.OptionOverload)
            {
                continue;
            }

            if (lengths[(int)code] < 0)
            {
                lengths[(int)code] = 0;
                order[count++] = (byte)code;
            }

            lengths[(int)code] += value.Length;
            if (code == DhcpOptionCode.OptionOverload && !value.IsEmpty)
            {
                overload = value[0];
            }
        }

        return walker.Error;
    }

    /// <summary>Second pass: each piece into its code's array, after the pieces before it.</summary>
    private static void Copy(ReadOnlySpan<byte> field, bool optionsField, byte[]?[] values, Span<int> filled)
    {
        var walker = new OptionWalker(field);
        while (walker.TryNext(out var code, out var value))
        {
            if (!optionsField && code == DhcpOptionCode.OptionOverload)
            {
                continue;
            }

            value.CopyTo(values[(int)code].AsSpan(filled[(int)code]));
            filled[(int)code] += value.Length;
        }
    }

    /// <summary>
    /// One option area, piece by piece: pad is skipped, end ends it (so does
    /// the field's end), and a code-length-value triple must stay inside it.
    /// </summary>
    private ref struct OptionWalker(ReadOnlySpan<byte> field)
    {
        private readonly ReadOnlySpan<byte> _field = field;
        private int _at;

        public DhcpParseError Error { get; private set; }

        public bool TryNext(out DhcpOptionCode code, out ReadOnlySpan<byte> value)
        {
            while (_at < _field.Length)
            {
                code = (DhcpOptionCode)_field[_at];
                if (code == DhcpOptionCode.End)
                {
                    break;
                }

                if (code == DhcpOptionCode.Pad)
                {
                    _at++;
                    continue;
                }

                if (_at + 1 >= _field.Length)
                {
                    Error = DhcpParseError.OptionTruncated;
                    break;
                }

                var length = _field[_at + 1];
                if (_at + 2 + length > _field.Length)
                {
                    Error = DhcpParseError.OptionOverrun;
                    break;
                }

                value = _field.Slice(_at + 2, length);
                _at += 2 + length;
                return true;
            }

            code = default;
            value = default;
            return false;
        }
    }

    private static string NulTerminated(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return DhcpOptions.Text(end < 0 ? field : field[..end]);
    }
}
