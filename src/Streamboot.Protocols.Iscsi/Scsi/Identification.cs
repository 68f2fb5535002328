using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>Identification and discovery: INQUIRY and its VPD pages, REPORT LUNS, REQUEST SENSE, REPORT SUPPORTED OPERATION CODES.</summary>
internal sealed class Identification(LogicalUnitMedium medium)
{
    private const string VendorId = "STRMBOOT";
    private const string ProductId = "vDisk";
    private const string Revision = "0001";

    /// <summary>Version descriptors (SPC-4 6.4.2, table 29): SAM-5, iSCSI (RFC 7143), SPC-4, SBC-3.</summary>
    private static readonly ushort[] s_versionDescriptors = [0x00a0, 0x0960, 0x0460, 0x04c0];

    private static readonly byte[] s_vpdPages =
    [
        VpdPage.SupportedPages, VpdPage.UnitSerialNumber, VpdPage.DeviceIdentification,
        VpdPage.BlockLimits, VpdPage.BlockDeviceCharacteristics, VpdPage.LogicalBlockProvisioning,
    ];

    /// <summary>Every command served, for REPORT SUPPORTED OPERATION CODES: operation code, service action (or -1), CDB length.</summary>
    private static readonly (ScsiOpcode Opcode, int ServiceAction, int Length)[] s_commands =
    [
        (ScsiOpcode.TestUnitReady, -1, 6), (ScsiOpcode.RequestSense, -1, 6), (ScsiOpcode.Read6, -1, 6), (ScsiOpcode.Write6, -1, 6),
        (ScsiOpcode.Inquiry, -1, 6), (ScsiOpcode.ModeSelect6, -1, 6), (ScsiOpcode.Reserve6, -1, 6), (ScsiOpcode.Release6, -1, 6),
        (ScsiOpcode.ModeSense6, -1, 6), (ScsiOpcode.StartStopUnit, -1, 6), (ScsiOpcode.SendDiagnostic, -1, 6),
        (ScsiOpcode.PreventAllowMediumRemoval, -1, 6), (ScsiOpcode.ReadCapacity10, -1, 10), (ScsiOpcode.Read10, -1, 10),
        (ScsiOpcode.Write10, -1, 10), (ScsiOpcode.WriteAndVerify10, -1, 10), (ScsiOpcode.Verify10, -1, 10), (ScsiOpcode.PreFetch10, -1, 10),
        (ScsiOpcode.SynchronizeCache10, -1, 10), (ScsiOpcode.WriteSame10, -1, 10), (ScsiOpcode.Unmap, -1, 10),
        (ScsiOpcode.ModeSelect10, -1, 10), (ScsiOpcode.Reserve10, -1, 10), (ScsiOpcode.Release10, -1, 10), (ScsiOpcode.ModeSense10, -1, 10),
        (ScsiOpcode.PersistentReserveIn, PersistentReserve.ReadKeys, 10), (ScsiOpcode.PersistentReserveIn, PersistentReserve.ReadReservation, 10),
        (ScsiOpcode.PersistentReserveIn, PersistentReserve.ReportCapabilities, 10), (ScsiOpcode.PersistentReserveIn, PersistentReserve.ReadFullStatus, 10),
        (ScsiOpcode.PersistentReserveOut, PersistentReserve.Register, 10), (ScsiOpcode.PersistentReserveOut, PersistentReserve.Reserve, 10),
        (ScsiOpcode.PersistentReserveOut, PersistentReserve.Release, 10), (ScsiOpcode.PersistentReserveOut, PersistentReserve.Clear, 10),
        (ScsiOpcode.PersistentReserveOut, PersistentReserve.Preempt, 10), (ScsiOpcode.PersistentReserveOut, PersistentReserve.PreemptAndAbort, 10),
        (ScsiOpcode.PersistentReserveOut, PersistentReserve.RegisterAndIgnoreExistingKey, 10),
        (ScsiOpcode.Read16, -1, 16), (ScsiOpcode.CompareAndWrite, -1, 16), (ScsiOpcode.Write16, -1, 16), (ScsiOpcode.WriteAndVerify16, -1, 16),
        (ScsiOpcode.Verify16, -1, 16), (ScsiOpcode.PreFetch16, -1, 16), (ScsiOpcode.SynchronizeCache16, -1, 16), (ScsiOpcode.WriteSame16, -1, 16),
        (ScsiOpcode.ServiceActionIn16, ScsiServiceAction.ReadCapacity16, 16), (ScsiOpcode.ServiceActionIn16, ScsiServiceAction.GetLbaStatus, 16),
        (ScsiOpcode.ReportLuns, -1, 12), (ScsiOpcode.MaintenanceIn, ScsiServiceAction.ReportSupportedOperationCodes, 12),
        (ScsiOpcode.Read12, -1, 12), (ScsiOpcode.Write12, -1, 12), (ScsiOpcode.WriteAndVerify12, -1, 12), (ScsiOpcode.Verify12, -1, 12),
    ];

    /// <summary>A stable identity from the target name: the same disk to every session and connection, another for another target.</summary>
    private byte[] IdentityHash => _identityHash ??= SHA256.HashData(Encoding.UTF8.GetBytes(medium.State.TargetName.ToLowerInvariant()));

    private byte[]? _identityHash;

    private string SerialNumber => Convert.ToHexStringLower(IdentityHash.AsSpan(0, 8));

    public ScsiResult Inquiry(ReadOnlySpan<byte> cdb, bool lunExists)
    {
        var evpd = (cdb[1] & 0x01) != 0;
        if ((cdb[1] & 0xfe) != 0)
        {
            // CMDDT (obsolete) and reserved bits.
            return SenseData.InvalidFieldInCdb(1, (cdb[1] & 0x02) != 0 ? 1 : 7);
        }

        if (!evpd && cdb[2] != 0)
        {
            return SenseData.InvalidFieldInCdb(2);
        }

        var peripheral = lunExists ? ScsiProtocol.DirectAccessDevice : ScsiProtocol.NoLogicalUnit;
        if (!evpd)
        {
            return ScsiResult.WithData(StandardInquiry(peripheral));
        }

        if (!lunExists)
        {
            return SenseData.Illegal(AdditionalSense.LogicalUnitNotSupported);
        }

        var page = cdb[2] switch
        {
            VpdPage.SupportedPages => Vpd(VpdPage.SupportedPages, s_vpdPages),
            VpdPage.UnitSerialNumber => Vpd(VpdPage.UnitSerialNumber, Encoding.ASCII.GetBytes(SerialNumber)),
            VpdPage.DeviceIdentification => Vpd(VpdPage.DeviceIdentification, DeviceIdentifiers()),
            VpdPage.BlockLimits => Vpd(VpdPage.BlockLimits, BlockLimits()),
            VpdPage.BlockDeviceCharacteristics => Vpd(VpdPage.BlockDeviceCharacteristics, BlockDeviceCharacteristics()),
            VpdPage.LogicalBlockProvisioning => Vpd(VpdPage.LogicalBlockProvisioning, LogicalBlockProvisioning()),
            _ => null,
        };
        return page is null ? SenseData.InvalidFieldInCdb(2) : ScsiResult.WithData(page);
    }

    private static byte[] StandardInquiry(byte peripheral)
    {
        var data = new byte[96];
        data[0] = peripheral;
        data[2] = ScsiProtocol.VersionSpc4;
        data[3] = 0x12;           // HISUP, RESPONSE DATA FORMAT 2
        data[4] = (byte)(data.Length - 5);
        data[7] = 0x02;           // CMDQUE: tagged commands
        Ascii(data.AsSpan(8, 8), VendorId);
        Ascii(data.AsSpan(16, 16), ProductId);
        Ascii(data.AsSpan(32, 4), Revision);
        for (var i = 0; i < s_versionDescriptors.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(58 + (2 * i)), s_versionDescriptors[i]);
        }

        return data;
    }

    private static byte[] Vpd(byte page, ReadOnlySpan<byte> body)
    {
        var data = new byte[4 + body.Length];
        data[1] = page;
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(2), (ushort)body.Length);
        body.CopyTo(data.AsSpan(4));
        return data;
    }

    /// <summary>
    /// Device Identification (SPC-4 7.8.6): an NAA locally assigned name
    /// (what Windows and multipath key disks by), a T10 vendor id, and the
    /// target's iSCSI name as a SCSI name string.
    /// </summary>
    private byte[] DeviceIdentifiers()
    {
        var list = new List<byte>();

        // NAA type 3 (locally assigned), 8 bytes, binary; association: logical unit.
        var naa = new byte[8];
        IdentityHash.AsSpan(8, 8).CopyTo(naa);
        naa[0] = (byte)(0x30 | (naa[0] & 0x0f));
        Designator(list, codeSet: 1, type: 3, association: 0, naa);

        // T10 vendor id + serial, ASCII.
        Designator(list, codeSet: 2, type: 1, association: 0, Encoding.ASCII.GetBytes(VendorId + SerialNumber));

        // SCSI name string of the target device, UTF-8, NUL ended, multiple of 4.
        var name = Encoding.UTF8.GetBytes(medium.State.TargetName.ToLowerInvariant());
        var padded = new byte[(name.Length + 4) & ~3];
        name.CopyTo(padded, 0);
        Designator(list, codeSet: 3, type: 8, association: 2, padded, protocol: 5);
        return [.. list];
    }

    private static void Designator(List<byte> list, int codeSet, int type, int association, byte[] value, int protocol = -1)
    {
        list.Add((byte)((protocol >= 0 ? protocol << 4 : 0) | codeSet));
        list.Add((byte)((protocol >= 0 ? 0x80 : 0) | (association << 4) | type));
        list.Add(0);
        list.Add((byte)value.Length);
        list.AddRange(value);
    }

    /// <summary>Block Limits (SBC-3 6.6.4).</summary>
    private byte[] BlockLimits()
    {
        var body = new byte[0x3c];
        body[0] = 0x01;                                   // WSNZ: WRITE SAME with 0 blocks is refused
        body[1] = UnitLimits.MaxCompareAndWriteBlocks;
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(2), 8);     // OPTIMAL TRANSFER LENGTH GRANULARITY: 4 KiB
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), (uint)medium.MaxTransferBlocks);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(8), (uint)Math.Min(medium.MaxTransferBlocks, 2048)); // OPTIMAL: 1 MiB
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(12), (uint)medium.MaxTransferBlocks);                // MAXIMUM PREFETCH LENGTH
        if (medium.CanTrim)
        {
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(16), UnitLimits.MaxUnmapBlocks);
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(20), UnitLimits.MaxUnmapDescriptors);
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(24), 8); // OPTIMAL UNMAP GRANULARITY: 4 KiB
        }

        BinaryPrimitives.WriteUInt64BigEndian(body.AsSpan(32), UnitLimits.MaxWriteSameBlocks);
        return body;
    }

    /// <summary>Block Device Characteristics (SBC-3 6.6.2): not rotating.</summary>
    private static byte[] BlockDeviceCharacteristics()
    {
        var body = new byte[0x3c];
        BinaryPrimitives.WriteUInt16BigEndian(body, 1); // MEDIUM ROTATION RATE: non-rotating medium
        return body;
    }

    /// <summary>Logical Block Provisioning (SBC-3 6.6.5): thin, UNMAP and WRITE SAME with UNMAP, unmapped blocks read as zeroes.</summary>
    private byte[] LogicalBlockProvisioning()
    {
        var body = new byte[4];
        if (medium.CanTrim)
        {
            body[1] = 0x80 | 0x40 | 0x20 | 0x04; // LBPU, LBPWS, LBPWS10, LBPRZ
            body[2] = 0x02;                      // PROVISIONING TYPE: thin
        }
        else
        {
            body[1] = 0x04;
        }

        return body;
    }

    public static ScsiResult ReportLuns(ReadOnlySpan<byte> cdb)
    {
        if (cdb[2] > 0x02)
        {
            return SenseData.InvalidFieldInCdb(2);
        }

        if (Cdb.U32(cdb, 6) < 16)
        {
            return SenseData.InvalidFieldInCdb(6);
        }

        var data = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(data, 8); // one LUN: 0
        return ScsiResult.WithData(data);
    }

    public static ScsiResult RequestSense(ReadOnlySpan<byte> cdb, bool lunExists)
    {
        if ((cdb[1] & 0xfe) != 0)
        {
            return SenseData.InvalidFieldInCdb(1);
        }

        // No deferred errors are kept (autosense reports every error with its command).
        var sense = lunExists ? new SenseData(SenseKey.NoSense, AdditionalSense.NoAdditionalSenseInformation) : SenseData.Illegal(AdditionalSense.LogicalUnitNotSupported);
        var data = new byte[32];
        var length = (cdb[1] & 0x01) != 0 ? sense.WriteDescriptor(data) : sense.WriteFixed(data);
        return ScsiResult.WithData(data, length);
    }

    public static ScsiResult MaintenanceIn(ReadOnlySpan<byte> cdb)
    {
        if ((cdb[1] & 0x1f) != ScsiServiceAction.ReportSupportedOperationCodes)
        {
            return SenseData.InvalidFieldInCdb(1, 4);
        }

        var options = cdb[2] & 0x07;
        var timeouts = (cdb[2] & 0x80) != 0;
        var timeoutLength = timeouts ? 12 : 0;
        if (options == 0)
        {
            var data = new byte[4 + (s_commands.Length * (8 + timeoutLength))];
            BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(data.Length - 4));
            var at = 4;
            foreach (var (opcode, action, length) in s_commands)
            {
                data[at] = (byte)opcode;
                if (action >= 0)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at + 2), (ushort)action);
                    data[at + 5] |= 0x01; // SERVACTV
                }

                if (timeouts)
                {
                    data[at + 5] |= 0x02; // CTDP
                    WriteTimeouts(data.AsSpan(at + 8, 12));
                }

                BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at + 6), (ushort)length);
                at += 8 + timeoutLength;
            }

            return ScsiResult.WithData(data);
        }

        if (options > 3)
        {
            return SenseData.InvalidFieldInCdb(2);
        }

        var requested = (ScsiOpcode)cdb[3];
        var serviceAction = Cdb.U16(cdb, 4);
        var hasServiceActions = s_commands.Any(c => c.Opcode == requested && c.ServiceAction >= 0);
        if ((options == 1 && hasServiceActions) || (options == 2 && !hasServiceActions && s_commands.Any(c => c.Opcode == requested)))
        {
            return SenseData.InvalidFieldInCdb(2);
        }

        var match = s_commands.FirstOrDefault(c => c.Opcode == requested && (c.ServiceAction < 0 || c.ServiceAction == serviceAction));
        var supported = match.Length > 0 && (options != 1 || match.ServiceAction < 0);
        var usage = supported ? Usage(match.Opcode, match.ServiceAction, match.Length) : [];
        var one = new byte[4 + usage.Length + timeoutLength];
        one[1] = (byte)(supported ? 0x03 : 0x01); // SUPPORT: supported as the standard says, or not supported
        if (timeouts)
        {
            one[1] |= 0x80;
            WriteTimeouts(one.AsSpan(4 + usage.Length, 12));
        }

        BinaryPrimitives.WriteUInt16BigEndian(one.AsSpan(2), (ushort)usage.Length);
        usage.CopyTo(one, 4);
        return ScsiResult.WithData(one);
    }

    /// <summary>CDB USAGE DATA: the operation code (and service action), and every other field marked as one this unit reads.</summary>
    private static byte[] Usage(ScsiOpcode opcode, int serviceAction, int length)
    {
        var usage = new byte[length];
        usage.AsSpan(1).Fill(0xff);
        usage[0] = (byte)opcode;
        if (serviceAction >= 0)
        {
            usage[1] = (byte)(0xe0 | serviceAction);
        }

        usage[^1] = 0x04; // CONTROL: NACA is the field the standard defines
        return usage;
    }

    /// <summary>Command timeouts descriptor (SPC-4 6.35.4): none stated.</summary>
    private static void WriteTimeouts(Span<byte> into)
    {
        into.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(into, 10);
    }

    private static void Ascii(Span<byte> into, string text)
    {
        into.Fill((byte)' ');
        Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, into.Length)), into);
    }
}
