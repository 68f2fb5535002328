using System.Buffers.Binary;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>SENSE KEY SPECIFIC field pointer (SPC-4 4.5.2.4.2): which byte (and bit) of the CDB or parameter list was wrong.</summary>
internal readonly record struct FieldPointer(bool InCdb, int ByteOffset, int Bit)
{
    public void Write(Span<byte> into)
    {
        into[0] = (byte)(0x80 | (InCdb ? 0x40 : 0) | (Bit >= 0 ? 0x08 | (Bit & 7) : 0));
        BinaryPrimitives.WriteUInt16BigEndian(into[1..], (ushort)ByteOffset);
    }
}
