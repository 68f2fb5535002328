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
