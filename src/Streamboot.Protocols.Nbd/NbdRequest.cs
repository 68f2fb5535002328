using System.Buffers.Binary;

namespace Streamboot.Protocols.Nbd;

/// <summary>A compact request header (28 bytes), parsed without copying.</summary>
internal readonly record struct NbdRequest(uint Magic, NbdCommandFlags Flags, NbdCommand Command, ulong Cookie, ulong Offset, uint Length)
{
    public static NbdRequest Parse(ReadOnlySpan<byte> header) => new(
        BinaryPrimitives.ReadUInt32BigEndian(header),
        (NbdCommandFlags)BinaryPrimitives.ReadUInt16BigEndian(header[4..]),
        (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(header[6..]),
        BinaryPrimitives.ReadUInt64BigEndian(header[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(header[16..]),
        BinaryPrimitives.ReadUInt32BigEndian(header[24..]));
}
