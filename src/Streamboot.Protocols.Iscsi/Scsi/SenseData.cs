using System.Buffers.Binary;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// Sense data of a CHECK CONDITION (SPC-4 4.5): the sense key, the
/// additional sense code and qualifier, and optionally the INFORMATION
/// field (the first LBA or byte in error) and a sense-key specific field
/// pointer (which CDB or parameter byte was wrong).
/// </summary>
internal readonly record struct SenseData(SenseKey Key, AdditionalSense Code, ulong? Information = null, FieldPointer? Field = null)
{
    /// <summary>Fixed format sense data is 18 bytes (SPC-4 4.5.3).</summary>
    public const int FixedLength = 18;

    public byte Asc => (byte)((ushort)Code >> 8);

    public byte Ascq => (byte)Code;

    public static SenseData InvalidFieldInCdb(int byteOffset, int bit = -1) =>
        new(SenseKey.IllegalRequest, AdditionalSense.InvalidFieldInCdb, Field: new FieldPointer(true, byteOffset, bit));

    public static SenseData InvalidFieldInParameterList(int byteOffset, int bit = -1) =>
        new(SenseKey.IllegalRequest, AdditionalSense.InvalidFieldInParameterList, Field: new FieldPointer(false, byteOffset, bit));

    public static SenseData Illegal(AdditionalSense code) => new(SenseKey.IllegalRequest, code);

    public static SenseData LbaOutOfRange => new(SenseKey.IllegalRequest, AdditionalSense.LbaOutOfRange);

    public static SenseData WriteProtected => new(SenseKey.DataProtect, AdditionalSense.WriteProtected);

    /// <summary>Writes fixed format sense data (response code 70h, current error); returns its length.</summary>
    public int WriteFixed(Span<byte> into)
    {
        into[..FixedLength].Clear();
        into[0] = 0x70;
        into[2] = (byte)Key;
        if (Information is { } information)
        {
            into[0] |= 0x80; // VALID: the INFORMATION field holds a value
            BinaryPrimitives.WriteUInt32BigEndian(into[3..], (uint)information);
        }

        into[7] = FixedLength - 8;
        into[12] = Asc;
        into[13] = Ascq;
        if (Field is { } field)
        {
            field.Write(into[15..18]);
        }

        return FixedLength;
    }

    /// <summary>Writes descriptor format sense data (72h), with an information descriptor when there is one; returns its length.</summary>
    public int WriteDescriptor(Span<byte> into)
    {
        var length = 8;
        into[..8].Clear();
        into[0] = 0x72;
        into[1] = (byte)Key;
        into[2] = Asc;
        into[3] = Ascq;
        if (Information is { } information)
        {
            into[8..20].Clear();
            into[8] = 0x00;  // information descriptor
            into[9] = 0x0a;
            into[10] = 0x80; // VALID
            BinaryPrimitives.WriteUInt64BigEndian(into[12..], information);
            length += 12;
        }

        into[7] = (byte)(length - 8);
        return length;
    }
}
