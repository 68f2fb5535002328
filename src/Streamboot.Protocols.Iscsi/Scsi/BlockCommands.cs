using System.Buffers;
using System.Buffers.Binary;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>Blocks: READ CAPACITY, READ, WRITE, VERIFY, COMPARE AND WRITE, SYNCHRONIZE CACHE, PRE-FETCH (SBC-3 5).</summary>
internal sealed class BlockCommands(LogicalUnitMedium medium)
{


    /// <summary>COMPARE AND WRITE is atomic against other COMPARE AND WRITEs of the unit (what clusters use it for: a lock word).</summary>
    private readonly SemaphoreSlim _compareAndWrite = new(1, 1);

    public ScsiResult ReadCapacity10(ReadOnlySpan<byte> cdb)
    {
        if ((cdb[8] & 0x01) == 0 && Cdb.U32(cdb, 2) != 0)
        {
            // PMI 0 with an LBA (SBC-3 5.15.1, obsolete fields).
            return SenseData.InvalidFieldInCdb(2);
        }

        var data = new byte[8];
        var last = medium.Blocks - 1;
        BinaryPrimitives.WriteUInt32BigEndian(data, last > uint.MaxValue ? uint.MaxValue : (uint)last);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), ScsiProtocol.BlockSize);
        return ScsiResult.WithData(data);
    }

    public ScsiResult ReadCapacity16()
    {
        var data = new byte[32];
        BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)(medium.Blocks - 1));
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8), ScsiProtocol.BlockSize);
        data[13] = ScsiProtocol.PhysicalBlockExponent;
        // LBPME: thin provisioning (UNMAP); LBPRZ: an unmapped block reads as zeroes (every Streamboot layer does).
        data[14] = (byte)((medium.CanTrim ? 0x80 : 0) | 0x40);
        return ScsiResult.WithData(data);
    }

    public ScsiResult Read(ReadOnlySpan<byte> cdb)
    {
        var opcode = (ScsiOpcode)cdb[0];
        if (opcode != ScsiOpcode.Read6 && (cdb[1] & 0xe0) != 0)
        {
            // RDPROTECT: this unit has no protection information.
            return SenseData.InvalidFieldInCdb(1, 7);
        }

        if (!Cdb.TryLbaAndLength(cdb, out var lba, out var blocks))
        {
            return SenseData.InvalidFieldInCdb(0);
        }

        if (medium.OutOfRange(lba, blocks))
        {
            return SenseData.LbaOutOfRange;
        }

        if (blocks > (uint)medium.MaxTransferBlocks)
        {
            return SenseData.InvalidFieldInCdb(opcode == ScsiOpcode.Read6 ? 4 : 7);
        }

        return blocks == 0 ? ScsiResult.Good : ScsiResult.FromDevice((long)lba << ScsiProtocol.BlockShift, (int)blocks << ScsiProtocol.BlockShift);
    }

    public ScsiPlan PlanWrite(ReadOnlySpan<byte> cdb)
    {
        var opcode = (ScsiOpcode)cdb[0];
        if (opcode != ScsiOpcode.Write6 && (cdb[1] & 0xe0) != 0)
        {
            return SenseData.InvalidFieldInCdb(1, 7);
        }

        if (!Cdb.TryLbaAndLength(cdb, out var lba, out var blocks))
        {
            return SenseData.InvalidFieldInCdb(0);
        }

        if (medium.OutOfRange(lba, blocks))
        {
            return SenseData.LbaOutOfRange;
        }

        if (medium.ReadOnly)
        {
            return SenseData.WriteProtected;
        }

        if (blocks > (uint)medium.MaxTransferBlocks)
        {
            return SenseData.InvalidFieldInCdb(opcode == ScsiOpcode.Write6 ? 4 : 7);
        }

        if (blocks == 0)
        {
            return ScsiPlan.Finished(ScsiResult.Good);
        }

        // WRITE AND VERIFY writes through to the medium before it verifies: a FUA write.
        var fua = opcode != ScsiOpcode.Write6 && ((cdb[1] & 0x08) != 0 || opcode is ScsiOpcode.WriteAndVerify10 or ScsiOpcode.WriteAndVerify12 or ScsiOpcode.WriteAndVerify16);
        return ScsiPlan.Stream((long)lba << ScsiProtocol.BlockShift, (int)blocks << ScsiProtocol.BlockShift, fua);
    }

    public ScsiPlan PlanVerify(ReadOnlySpan<byte> cdb)
    {
        if ((cdb[1] & 0xe0) != 0)
        {
            return SenseData.InvalidFieldInCdb(1, 7);
        }

        var byteCheck = (cdb[1] >> 1) & 0x03;
        if (byteCheck == 2)
        {
            return SenseData.InvalidFieldInCdb(1, 2);
        }

        if (!Cdb.TryLbaAndLength(cdb, out var lba, out var blocks))
        {
            return SenseData.InvalidFieldInCdb(0);
        }

        if (medium.OutOfRange(lba, blocks))
        {
            return SenseData.LbaOutOfRange;
        }

        if (blocks > (uint)medium.MaxTransferBlocks)
        {
            return SenseData.InvalidFieldInCdb(7);
        }

        if (byteCheck == 1 && blocks > UnitLimits.MaxVerifyBlocks)
        {
            // The compare data is held whole: bounded.
            return SenseData.InvalidFieldInCdb(7);
        }

        return byteCheck switch
        {
            0 => ScsiPlan.NoData,
            1 => blocks == 0 ? ScsiPlan.NoData : ScsiPlan.Blocks((int)blocks << ScsiProtocol.BlockShift),
            _ => blocks == 0 ? ScsiPlan.NoData : ScsiPlan.Blocks(ScsiProtocol.BlockSize),
        };
    }

    /// <summary>VERIFY (SBC-3 5.29): BYTCHK 0 checks the medium (always readable here); 1 and 3 compare the data-out with it.</summary>
    public async ValueTask<ScsiResult> VerifyAsync(ReadOnlyMemory<byte> cdb, ReadOnlyMemory<byte> dataOut, CancellationToken cancellationToken)
    {
        var byteCheck = (cdb.Span[1] >> 1) & 0x03;
        Cdb.TryLbaAndLength(cdb.Span, out var lba, out var blocks);
        if (byteCheck == 0 || blocks == 0)
        {
            return ScsiResult.Good;
        }

        var length = (int)blocks << ScsiProtocol.BlockShift;
        var stored = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            await medium.Device.ReadAsync((long)lba << ScsiProtocol.BlockShift, stored.AsMemory(0, length), cancellationToken);
            for (var at = 0; at < length; at += ScsiProtocol.BlockSize)
            {
                var expected = byteCheck == 1 ? dataOut.Span.Slice(at, ScsiProtocol.BlockSize) : dataOut.Span[..ScsiProtocol.BlockSize];
                var mismatch = expected.CommonPrefixLength(stored.AsSpan(at, ScsiProtocol.BlockSize));
                if (mismatch < ScsiProtocol.BlockSize)
                {
                    return new SenseData(SenseKey.Miscompare, AdditionalSense.MiscompareDuringVerify, (ulong)(at + mismatch));
                }
            }

            return ScsiResult.Good;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stored);
        }
    }

    public ScsiPlan PlanCompareAndWrite(ReadOnlySpan<byte> cdb)
    {
        if ((cdb[1] & 0xe0) != 0)
        {
            return SenseData.InvalidFieldInCdb(1, 7);
        }

        var lba = Cdb.U64(cdb, 2);
        var blocks = cdb[13];
        if (blocks > UnitLimits.MaxCompareAndWriteBlocks)
        {
            return SenseData.InvalidFieldInCdb(13);
        }

        if (medium.OutOfRange(lba, blocks))
        {
            return SenseData.LbaOutOfRange;
        }

        if (medium.ReadOnly)
        {
            return SenseData.WriteProtected;
        }

        // NUMBER OF LOGICAL BLOCKS 0 is a no-op, but only with no data-out: the transport checks the sizes agree.
        return ScsiPlan.Blocks(2 * blocks * ScsiProtocol.BlockSize);
    }

    /// <summary>COMPARE AND WRITE (SBC-3 5.2): the first half of the data must match the medium, then the second half is written.</summary>
    public async ValueTask<ScsiResult> CompareAndWriteAsync(ReadOnlyMemory<byte> cdb, ReadOnlyMemory<byte> dataOut, CancellationToken cancellationToken)
    {
        var lba = Cdb.U64(cdb.Span, 2);
        var length = cdb.Span[13] * ScsiProtocol.BlockSize;
        var fua = (cdb.Span[1] & 0x08) != 0;
        if (dataOut.Length != 2 * length)
        {
            return SenseData.Illegal(AdditionalSense.InvalidFieldInInformationUnit);
        }

        if (length == 0)
        {
            return ScsiResult.Good;
        }

        var offset = (long)lba << ScsiProtocol.BlockShift;
        var stored = ArrayPool<byte>.Shared.Rent(length);
        await _compareAndWrite.WaitAsync(cancellationToken);
        try
        {
            await medium.Device.ReadAsync(offset, stored.AsMemory(0, length), cancellationToken);
            var same = dataOut.Span[..length].CommonPrefixLength(stored.AsSpan(0, length));
            if (same < length)
            {
                return new SenseData(SenseKey.Miscompare, AdditionalSense.MiscompareDuringVerify, (ulong)same);
            }

            await medium.WriteAsync(offset, dataOut[length..], fua, cancellationToken);
            return ScsiResult.Good;
        }
        finally
        {
            _compareAndWrite.Release();
            ArrayPool<byte>.Shared.Return(stored);
        }
    }

    public async ValueTask<ScsiResult> SynchronizeCacheAsync(ReadOnlyMemory<byte> cdb, CancellationToken cancellationToken)
    {
        var (lba, blocks) = cdb.Span[0] == (byte)ScsiOpcode.SynchronizeCache10
            ? ((ulong)Cdb.U32(cdb.Span, 2), (ulong)Cdb.U16(cdb.Span, 7))
            : (Cdb.U64(cdb.Span, 2), (ulong)Cdb.U32(cdb.Span, 10));
        if (medium.OutOfRange(lba, blocks))
        {
            return SenseData.LbaOutOfRange;
        }

        if (!medium.ReadOnly)
        {
            await medium.Device.FlushAsync(cancellationToken);
        }

        return ScsiResult.Good;
    }

    public ScsiResult PreFetch(ReadOnlySpan<byte> cdb)
    {
        var (lba, blocks) = cdb[0] == (byte)ScsiOpcode.PreFetch10
            ? ((ulong)Cdb.U32(cdb, 2), (ulong)Cdb.U16(cdb, 7))
            : (Cdb.U64(cdb, 2), (ulong)Cdb.U32(cdb, 10));
        return medium.OutOfRange(lba, blocks) ? SenseData.LbaOutOfRange : ScsiResult.Good;
    }
}
