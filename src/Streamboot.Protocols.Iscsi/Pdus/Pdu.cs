using System.Buffers.Binary;

namespace Streamboot.Protocols.Iscsi.Pdus;

/// <summary>
/// Reads and writes the fields of a Basic Header Segment (RFC 7143 11.2.1)
/// in place: big-endian numbers at the offsets of IscsiProtocol and of each
/// PDU's section. Pure functions over spans, no state.
/// </summary>
internal static class Pdu
{
    public static IscsiOpcode Opcode(ReadOnlySpan<byte> bhs) => (IscsiOpcode)(bhs[IscsiProtocol.OpcodeOffset] & IscsiProtocol.OpcodeMask);

    public static bool Immediate(ReadOnlySpan<byte> bhs) => (bhs[IscsiProtocol.OpcodeOffset] & IscsiProtocol.ImmediateBit) != 0;

    public static bool Final(ReadOnlySpan<byte> bhs) => (bhs[IscsiProtocol.FlagsOffset] & IscsiProtocol.FinalBit) != 0;

    public static byte Flags(ReadOnlySpan<byte> bhs) => bhs[IscsiProtocol.FlagsOffset];

    /// <summary>TotalAHSLength in bytes (the field counts 4-byte words).</summary>
    public static int TotalAhsLength(ReadOnlySpan<byte> bhs) => bhs[IscsiProtocol.TotalAhsLengthOffset] * 4;

    public static int DataSegmentLength(ReadOnlySpan<byte> bhs) =>
        (bhs[IscsiProtocol.DataSegmentLengthOffset] << 16) | (bhs[IscsiProtocol.DataSegmentLengthOffset + 1] << 8) | bhs[IscsiProtocol.DataSegmentLengthOffset + 2];

    public static ulong Lun(ReadOnlySpan<byte> bhs) => BinaryPrimitives.ReadUInt64BigEndian(bhs[IscsiProtocol.LunOffset..]);

    public static uint InitiatorTaskTag(ReadOnlySpan<byte> bhs) => U32(bhs, IscsiProtocol.InitiatorTaskTagOffset);

    public static uint U32(ReadOnlySpan<byte> bhs, int offset) => BinaryPrimitives.ReadUInt32BigEndian(bhs[offset..]);

    public static ushort U16(ReadOnlySpan<byte> bhs, int offset) => BinaryPrimitives.ReadUInt16BigEndian(bhs[offset..]);

    /// <summary>Zero bytes after a data segment of this length, up to the next multiple of 4 (11.2.3).</summary>
    public static int Padding(int length) => (4 - (length & 3)) & 3;

    /// <summary>Starts a target PDU: clears the header, sets the opcode and flags and the data segment's length.</summary>
    public static void Begin(Span<byte> bhs, IscsiOpcode opcode, byte flags, int dataSegmentLength)
    {
        bhs[..IscsiProtocol.BhsLength].Clear();
        bhs[0] = (byte)opcode;
        bhs[1] = flags;
        SetDataSegmentLength(bhs, dataSegmentLength);
    }

    public static void SetDataSegmentLength(Span<byte> bhs, int length)
    {
        bhs[IscsiProtocol.DataSegmentLengthOffset] = (byte)(length >> 16);
        bhs[IscsiProtocol.DataSegmentLengthOffset + 1] = (byte)(length >> 8);
        bhs[IscsiProtocol.DataSegmentLengthOffset + 2] = (byte)length;
    }

    public static void SetU32(Span<byte> bhs, int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(bhs[offset..], value);

    public static void SetU16(Span<byte> bhs, int offset, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(bhs[offset..], value);

    public static void SetLun(Span<byte> bhs, ulong lun) => BinaryPrimitives.WriteUInt64BigEndian(bhs[IscsiProtocol.LunOffset..], lun);

    public static void SetInitiatorTaskTag(Span<byte> bhs, uint tag) => SetU32(bhs, IscsiProtocol.InitiatorTaskTagOffset, tag);

    /// <summary>
    /// The LUN as the logical unit number it names: the single-level forms of
    /// SAM-5 4.7 (peripheral and flat addressing), or -1 for anything else.
    /// </summary>
    public static int LunNumber(ulong lun)
    {
        var first = (int)(lun >> 48);
        if ((lun & 0x0000ffffffffffff) != 0)
        {
            return -1;
        }

        return (first >> 14) switch
        {
            0 => (first >> 8) == 0 ? first & 0xff : -1, // peripheral: bus 0 only
            1 => first & 0x3fff,                          // flat space addressing
            _ => -1,
        };
    }

    /// <summary>The LUN field that names logical unit <paramref name="number"/> (peripheral addressing below 256, flat above).</summary>
    public static ulong LunField(int number) =>
        number < 256 ? (ulong)number << 48 : ((ulong)(0x4000 | number) << 48);
}
