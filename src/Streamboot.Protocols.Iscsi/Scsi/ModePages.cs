using System.Buffers.Binary;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// MODE SENSE and MODE SELECT (SPC-4 6.11 to 6.14) over the pages an OS
/// reads: read-write error recovery, disconnect-reconnect, caching (WCE is
/// the one changeable bit: off makes every write FUA), control and
/// informational exceptions. Pages are not savable.
/// </summary>
internal sealed class ModePages(LogicalUnitMedium medium)
{
    private static readonly byte[] s_pageOrder =
    [
        ModePage.ReadWriteErrorRecovery, ModePage.DisconnectReconnect, ModePage.Caching, ModePage.Control, ModePage.InformationalExceptionsControl,
    ];

    public ScsiResult ModeSense(ReadOnlySpan<byte> cdb)
    {
        var ten = cdb[0] == (byte)ScsiOpcode.ModeSense10;
        var disableBlockDescriptors = (cdb[1] & 0x08) != 0;
        var longLba = ten && (cdb[1] & 0x10) != 0;
        var control = cdb[2] >> 6;
        var code = (byte)(cdb[2] & 0x3f);
        var subpage = cdb[3];
        if (control == 3)
        {
            return SenseData.Illegal(AdditionalSense.SavingParametersNotSupported);
        }

        if (subpage != 0 && !(subpage == 0xff && code == ModePage.AllPages))
        {
            return SenseData.InvalidFieldInCdb(3);
        }

        var pages = new List<byte>();
        if (code == ModePage.AllPages)
        {
            foreach (var page in s_pageOrder)
            {
                pages.AddRange(Page(page, control));
            }
        }
        else if (Array.IndexOf(s_pageOrder, code) >= 0)
        {
            pages.AddRange(Page(code, control));
        }
        else
        {
            return SenseData.InvalidFieldInCdb(2, 5);
        }

        var descriptor = disableBlockDescriptors ? [] : BlockDescriptor(longLba);
        var header = ten ? new byte[8] : new byte[4];
        var total = header.Length + descriptor.Length + pages.Count;
        var deviceSpecific = (byte)((medium.ReadOnly ? 0x80 : 0) | 0x10); // WP, DPOFUA
        if (ten)
        {
            BinaryPrimitives.WriteUInt16BigEndian(header, (ushort)(total - 2));
            header[3] = deviceSpecific;
            header[4] = (byte)(longLba && descriptor.Length > 0 ? 0x01 : 0);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)descriptor.Length);
        }
        else
        {
            header[0] = (byte)Math.Min(255, total - 1);
            header[2] = deviceSpecific;
            header[3] = (byte)descriptor.Length;
        }

        return ScsiResult.WithData([.. header, .. descriptor, .. pages]);
    }

    private byte[] BlockDescriptor(bool longLba)
    {
        if (longLba)
        {
            var data = new byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)medium.Blocks);
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(12), ScsiProtocol.BlockSize);
            return data;
        }

        var short8 = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(short8, medium.Blocks > uint.MaxValue ? uint.MaxValue : (uint)medium.Blocks);
        short8[5] = 0;
        short8[6] = ScsiProtocol.BlockSize >> 8;
        short8[7] = ScsiProtocol.BlockSize & 0xff;
        return short8;
    }

    /// <summary>A mode page's current (0), changeable (1) or default (2) values.</summary>
    private byte[] Page(byte code, int control)
    {
        var changeable = control == 1;
        byte[] page;
        switch (code)
        {
            case ModePage.ReadWriteErrorRecovery:
                page = new byte[12];
                page[1] = 0x0a;
                page[2] = changeable ? (byte)0 : (byte)0xc0; // AWRE, ARRE
                break;
            case ModePage.DisconnectReconnect:
                page = new byte[16];
                page[1] = 0x0e;
                break;
            case ModePage.Caching:
                page = new byte[20];
                page[1] = 0x12;
                page[2] = changeable ? (byte)0x04 : (control == 2 || medium.State.WriteCacheEnabled ? (byte)0x04 : (byte)0);
                break;
            case ModePage.Control:
                page = new byte[12];
                page[1] = 0x0a;
                if (!changeable)
                {
                    page[3] = 0x10;    // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering
                    page[8] = 0xff;    // BUSY TIMEOUT PERIOD: unlimited
                    page[9] = 0xff;
                }

                break;
            default:
                page = new byte[12];
                page[1] = 0x0a;
                page[2] = changeable ? (byte)0 : (byte)0x08; // DEXCPT: no informational exceptions
                break;
        }

        page[0] = code;
        return page;
    }

    public ScsiResult ModeSelect(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> parameters)
    {
        var ten = cdb[0] == (byte)ScsiOpcode.ModeSelect10;
        if ((cdb[1] & 0x01) != 0)
        {
            // SP: pages cannot be saved.
            return SenseData.InvalidFieldInCdb(1, 0);
        }

        var headerLength = ten ? 8 : 4;
        if (parameters.Length == 0)
        {
            return ScsiResult.Good;
        }

        if (parameters.Length < headerLength)
        {
            return SenseData.Illegal(AdditionalSense.ParameterListLengthError);
        }

        var descriptorLength = ten ? BinaryPrimitives.ReadUInt16BigEndian(parameters[6..]) : parameters[3];
        if (headerLength + descriptorLength > parameters.Length)
        {
            return SenseData.Illegal(AdditionalSense.ParameterListLengthError);
        }

        if (descriptorLength >= 8)
        {
            var descriptor = parameters.Slice(headerLength, descriptorLength);
            var blockLength = descriptorLength >= 16 ? BinaryPrimitives.ReadUInt32BigEndian(descriptor[12..]) : (uint)((descriptor[5] << 16) | (descriptor[6] << 8) | descriptor[7]);
            if (blockLength != ScsiProtocol.BlockSize && blockLength != 0)
            {
                return SenseData.InvalidFieldInParameterList(headerLength + (descriptorLength >= 16 ? 12 : 5));
            }
        }

        var pages = parameters[(headerLength + descriptorLength)..];
        var at = headerLength + descriptorLength;
        bool? writeCache = null;
        while (pages.Length > 0)
        {
            if (pages.Length < 2 || (pages[0] & 0x40) != 0)
            {
                return SenseData.InvalidFieldInParameterList(at);
            }

            var code = (byte)(pages[0] & 0x3f);
            var length = pages[1] + 2;
            if (Array.IndexOf(s_pageOrder, code) < 0 || length > pages.Length)
            {
                return SenseData.InvalidFieldInParameterList(at);
            }

            var current = Page(code, 0);
            var mask = Page(code, 1);
            if (length != current.Length)
            {
                return SenseData.InvalidFieldInParameterList(at + 1);
            }

            for (var i = 2; i < length; i++)
            {
                if (((pages[i] ^ current[i]) & ~mask[i]) != 0)
                {
                    return SenseData.InvalidFieldInParameterList(at + i);
                }
            }

            if (code == ModePage.Caching)
            {
                writeCache = (pages[2] & 0x04) != 0;
            }

            pages = pages[length..];
            at += length;
        }

        if (writeCache is { } enabled)
        {
            medium.State.WriteCacheEnabled = enabled;
        }

        return ScsiResult.Good;
    }
}
