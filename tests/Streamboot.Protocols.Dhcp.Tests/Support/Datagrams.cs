using System.Buffers.Binary;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>Hand-made datagrams, byte by byte, for what a codec-built packet can never be.</summary>
public static class Datagrams
{
    /// <summary>A 240-byte header with cookie, then <paramref name="options"/> as given (no end added), optional file and sname contents.</summary>
    public static byte[] Build(byte[] options, byte op = 1, byte htype = 1, byte hlen = 6, byte[]? file = null, byte[]? sname = null, uint xid = 0x5b5b0001)
    {
        var bytes = new byte[DhcpProtocol.OptionsOffset + options.Length];
        bytes[0] = op;
        bytes[1] = htype;
        bytes[2] = hlen;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), xid);
        byte[] mac = [0x02, 0x5b, 0, 0, 0x0b, 0xad];
        mac.CopyTo(bytes, DhcpProtocol.ChaddrOffset);
        file?.CopyTo(bytes, DhcpProtocol.FileOffset);
        sname?.CopyTo(bytes, DhcpProtocol.SnameOffset);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(DhcpProtocol.FixedHeaderLength), DhcpProtocol.MagicCookie);
        options.CopyTo(bytes, DhcpProtocol.OptionsOffset);
        return bytes;
    }

    public static byte[] Discover => Build([53, 1, 1, 255]);

    /// <summary>The largest UDP payload over IPv4: 65,535 - 20 (IP header) - 8 (UDP header).</summary>
    public const int LargestUdpPayload = 65_507;

    /// <summary>The ways of filling a datagram with repeated option pieces (RFC 3396 long encoding) that <see cref="RepeatedOptions"/> knows.</summary>
    public static readonly string[] RepeatedOptionShapes =
        ["one code in 1-byte pieces", "254 codes in 1-byte pieces", "empty pieces", "255-byte pieces", "overloaded into file and sname"];

    /// <summary>
    /// A DISCOVER of <paramref name="length"/> bytes whose options are pieces
    /// of repeated codes, each to be joined to the ones before (RFC 3396).
    /// Joined naively (copy the value so far, add the piece) a 65 KB one costs
    /// the square of its pieces: 237 MB for 1-byte pieces of one code. Also
    /// returns every option's joined value, for checking the parse.
    /// </summary>
    public static (byte[] Datagram, Dictionary<byte, byte[]> Joined) RepeatedOptions(int length, string shape)
    {
        var joined = new Dictionary<byte, List<byte>>();
        byte[] file = [];
        byte[] sname = [];
        var options = new List<byte> { 53, 1, 1 };
        Add(joined, 53, [1]);
        var room = length - DhcpProtocol.OptionsOffset - 1; // the end option
        byte[] fillers = [.. Enumerable.Range(1, 254).Select(c => (byte)c).Where(c => c is not (52 or 53))];
        var piece = 0;
        switch (shape)
        {
            case "one code in 1-byte pieces":
                while (options.Count + 3 <= room)
                {
                    Piece(options, joined, 60, [(byte)'x']);
                }

                break;
            case "254 codes in 1-byte pieces":
                while (options.Count + 3 <= room)
                {
                    var code = fillers[piece++ % fillers.Length];
                    Piece(options, joined, code, [code]);
                }

                break;
            case "empty pieces":
                while (options.Count + 2 <= room)
                {
                    Piece(options, joined, 12, []);
                }

                break;
            case "255-byte pieces":
                while (options.Count + 257 <= room)
                {
                    Piece(options, joined, 43, [.. Enumerable.Repeat((byte)piece++, 255)]);
                }

                break;
            case "overloaded into file and sname":
                // Option 52 = 3: file, then sname, continue the options (RFC 3396 section 6 order).
                options.AddRange([52, 1, 3]);
                Add(joined, 52, [3]);
                while (options.Count + 3 <= room)
                {
                    Piece(options, joined, 60, [(byte)'o']);
                }

                file = Field(DhcpProtocol.FileLength, joined, (byte)'f');
                sname = Field(DhcpProtocol.SnameLength, joined, (byte)'s');
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, null);
        }

        while (options.Count < room)
        {
            options.Add(0);
        }

        options.Add(255);
        var datagram = Build([.. options], file: file, sname: sname);
        return (datagram, joined.ToDictionary(j => j.Key, j => j.Value.ToArray()));
    }

    /// <summary>A file or sname field full of 1-byte pieces of option 60, ended by 255.</summary>
    private static byte[] Field(int length, Dictionary<byte, List<byte>> joined, byte value)
    {
        var field = new List<byte>();
        while (field.Count + 3 < length)
        {
            Piece(field, joined, 60, [value]);
        }

        field.Add(255);
        return [.. field];
    }

    private static void Piece(List<byte> options, Dictionary<byte, List<byte>> joined, byte code, byte[] value)
    {
        options.Add(code);
        options.Add((byte)value.Length);
        options.AddRange(value);
        Add(joined, code, value);
    }

    private static void Add(Dictionary<byte, List<byte>> joined, byte code, byte[] value)
    {
        if (!joined.TryGetValue(code, out var list))
        {
            joined[code] = list = [];
        }

        list.AddRange(value);
    }

    /// <summary>Every kind of bad datagram and the drop it must get.</summary>
    public static IEnumerable<(string Name, byte[] Datagram, DhcpDropReason Reason, DhcpParseError Error)> Bad()
    {
        yield return ("truncated", Discover[..120], DhcpDropReason.Malformed, DhcpParseError.Truncated);
        yield return ("header without cookie", Discover[..238], DhcpDropReason.Malformed, DhcpParseError.Truncated);
        var badCookie = Discover;
        badCookie[DhcpProtocol.FixedHeaderLength] = 0x42;
        yield return ("bad cookie", badCookie, DhcpDropReason.Malformed, DhcpParseError.BadMagicCookie);
        yield return ("bad op", Build([53, 1, 1, 255], op: 7), DhcpDropReason.Malformed, DhcpParseError.BadOpCode);
        yield return ("hlen 17", Build([53, 1, 1, 255], hlen: 17), DhcpDropReason.Malformed, DhcpParseError.BadHardwareAddressLength);
        yield return ("option past the end", Build([53, 1, 1, 60, 200, (byte)'P', (byte)'X', (byte)'E']), DhcpDropReason.Malformed, DhcpParseError.OptionOverrun);
        yield return ("option without length", Build([53, 1, 1, 60]), DhcpDropReason.Malformed, DhcpParseError.OptionTruncated);
        yield return ("overload into garbage", Build([53, 1, 1, 52, 1, 1, 255], file: [12, 250, 1, 2, 3]), DhcpDropReason.Malformed, DhcpParseError.OptionOverrun);
        yield return ("overload of 9", Build([53, 1, 1, 52, 1, 9, 255]), DhcpDropReason.Malformed, DhcpParseError.BadOptionOverload);
        yield return ("message type 42", Build([53, 1, 42, 255]), DhcpDropReason.Malformed, DhcpParseError.UnknownMessageType);
        yield return ("message type of two bytes", Build([53, 2, 1, 1, 255]), DhcpDropReason.Malformed, DhcpParseError.BadMessageType);
        yield return ("BOOTP", Build([1, 4, 255, 255, 255, 0, 255]), DhcpDropReason.Malformed, DhcpParseError.MissingMessageType);
        yield return ("BOOTREPLY", Build([53, 1, 1, 255], op: 2), DhcpDropReason.NotBootRequest, DhcpParseError.None);
        yield return ("token ring", Build([53, 1, 1, 255], htype: 6), DhcpDropReason.NotEthernet, DhcpParseError.None);
        yield return ("an OFFER", Build([53, 1, 2, 255]), DhcpDropReason.NotClientMessage, DhcpParseError.None);
    }
}
