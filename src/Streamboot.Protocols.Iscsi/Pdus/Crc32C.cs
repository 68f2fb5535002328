using System.Buffers.Binary;
using System.Numerics;

namespace Streamboot.Protocols.Iscsi.Pdus;

/// <summary>
/// CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 13.1,
/// appendix B.4): reflected, seeded with all ones, inverted at the end, and
/// sent least significant byte first. <see cref="BitOperations.Crc32C(uint, ulong)"/>
/// uses the processor's CRC32 instruction where it has one.
/// </summary>
internal static class Crc32C
{
    public const uint Seed = 0xffffffff;

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Seed, data));

    /// <summary>Continues a running CRC (start from <see cref="Seed"/>, end with <see cref="Finish"/>).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    public static uint Finish(uint crc) => ~crc;

    /// <summary>The digest of a data segment: the data and the zero padding to a multiple of 4.</summary>
    public static uint OfDataSegment(ReadOnlySpan<byte> data)
    {
        var crc = Append(Seed, data);
        var padding = Pdu.Padding(data.Length);
        for (var i = 0; i < padding; i++)
        {
            crc = BitOperations.Crc32C(crc, (byte)0);
        }

        return Finish(crc);
    }
}
