using System.Buffers.Binary;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>The fields of the CDB layouts SBC-3 shares between commands (6, 10, 12 and 16 bytes).</summary>
internal static class Cdb
{
    public static int Length(ScsiOpcode opcode) => ((byte)opcode >> 5) switch
    {
        0 => 6,
        1 or 2 => 10,
        4 => 16,
        5 => 12,
        _ => 0,
    };

    /// <summary>LBA and TRANSFER LENGTH of a READ/WRITE-shaped CDB; false when the CDB is too short.</summary>
    public static bool TryLbaAndLength(ReadOnlySpan<byte> cdb, out ulong lba, out uint blocks)
    {
        lba = 0;
        blocks = 0;
        if (cdb.Length < 6)
        {
            return false;
        }

        switch (cdb.Length < 10 ? 6 : Length((ScsiOpcode)cdb[0]))
        {
            case 6:
                lba = (ulong)(((cdb[1] & 0x1f) << 16) | (cdb[2] << 8) | cdb[3]);
                // READ(6)/WRITE(6): 0 blocks means 256 (SBC-3 5.7).
                blocks = cdb[4] == 0 ? 256u : cdb[4];
                return true;
            case 10:
                lba = BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
                blocks = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
                return true;
            case 12 when cdb.Length >= 12:
                lba = BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
                blocks = BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]);
                return true;
            case 16 when cdb.Length >= 16:
                lba = BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]);
                blocks = BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]);
                return true;
            default:
                return false;
        }
    }

    public static ushort U16(ReadOnlySpan<byte> cdb, int offset) => BinaryPrimitives.ReadUInt16BigEndian(cdb[offset..]);

    public static uint U24(ReadOnlySpan<byte> cdb, int offset) => (uint)((cdb[offset] << 16) | (cdb[offset + 1] << 8) | cdb[offset + 2]);

    public static uint U32(ReadOnlySpan<byte> cdb, int offset) => BinaryPrimitives.ReadUInt32BigEndian(cdb[offset..]);

    public static ulong U64(ReadOnlySpan<byte> cdb, int offset) => BinaryPrimitives.ReadUInt64BigEndian(cdb[offset..]);
}
