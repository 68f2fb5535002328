using System.Buffers;
using System.Buffers.Binary;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Iscsi.Scsi;

/// <summary>
/// Thin provisioning (SBC-3 4.7): UNMAP and WRITE SAME with UNMAP become the
/// device's trim and write-zeroes, GET LBA STATUS its extents. Every layer
/// of a Streamboot stack reads an unmapped range as zeroes, hence LBPRZ.
/// </summary>
internal sealed class ThinProvisioning(LogicalUnitMedium medium)
{




    public async ValueTask<ScsiResult> GetLbaStatusAsync(ReadOnlyMemory<byte> cdb, CancellationToken cancellationToken)
    {
        var lba = Cdb.U64(cdb.Span, 2);
        if (lba >= (ulong)medium.Blocks)
        {
            return SenseData.LbaOutOfRange;
        }

        var allocation = Cdb.U32(cdb.Span, 10);
        var wanted = (int)Math.Clamp((allocation - 8) / 16, 1, UnitLimits.MaxLbaStatusDescriptors);
        var extents = new BlockExtent[wanted];
        var start = (long)lba << ScsiProtocol.BlockShift;
        var end = medium.Blocks << ScsiProtocol.BlockShift;
        var count = await medium.Device.GetExtentsAsync(start, end - start, extents, cancellationToken);
        var descriptors = new List<(ulong Lba, uint Blocks, byte Status)>();
        foreach (var extent in extents.AsSpan(0, count))
        {
            var first = (ulong)(Math.Max(extent.Offset, start) >> ScsiProtocol.BlockShift);
            var last = (ulong)((Math.Min(extent.End, end) + ScsiProtocol.BlockSize - 1) >> ScsiProtocol.BlockShift);
            if (descriptors.Count > 0 && descriptors[^1].Lba + descriptors[^1].Blocks > first)
            {
                first = descriptors[^1].Lba + descriptors[^1].Blocks;
            }

            if (last <= first)
            {
                continue;
            }

            var status = (byte)((extent.Flags & ExtentFlags.Hole) != 0 ? 1 : 0); // deallocated, or mapped
            if (descriptors.Count > 0 && descriptors[^1].Status == status && descriptors[^1].Lba + descriptors[^1].Blocks == first)
            {
                var previous = descriptors[^1];
                descriptors[^1] = (previous.Lba, (uint)Math.Min(uint.MaxValue, previous.Blocks + (last - first)), status);
                continue;
            }

            descriptors.Add((first, (uint)Math.Min(uint.MaxValue, last - first), status));
        }

        var data = new byte[8 + (16 * descriptors.Count)];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(data.Length - 4));
        for (var i = 0; i < descriptors.Count; i++)
        {
            var at = 8 + (16 * i);
            BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(at), descriptors[i].Lba);
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at + 8), descriptors[i].Blocks);
            data[at + 12] = descriptors[i].Status;
        }

        return ScsiResult.WithData(data);
    }

    public ScsiPlan PlanWriteSame(ReadOnlySpan<byte> cdb)
    {
        var ws10 = cdb[0] == (byte)ScsiOpcode.WriteSame10;
        if ((cdb[1] & 0xe0) != 0)
        {
            return SenseData.InvalidFieldInCdb(1, 7);
        }

        if ((cdb[1] & 0x10) != 0)
        {
            // ANCHOR: anchored blocks are not supported (ANC_SUP 0).
            return SenseData.InvalidFieldInCdb(1, 4);
        }

        if ((cdb[1] & 0x06) != 0)
        {
            // PBDATA, LBDATA (obsolete).
            return SenseData.InvalidFieldInCdb(1, 2);
        }

        var (lba, blocks) = ws10 ? ((ulong)Cdb.U32(cdb, 2), (ulong)Cdb.U16(cdb, 7)) : (Cdb.U64(cdb, 2), (ulong)Cdb.U32(cdb, 10));
        if (blocks == 0)
        {
            // WSNZ: a WRITE SAME of "to the end" is refused (Block Limits VPD).
            return SenseData.InvalidFieldInCdb(ws10 ? 7 : 10);
        }

        if (medium.OutOfRange(lba, blocks))
        {
            return SenseData.LbaOutOfRange;
        }

        if (medium.ReadOnly)
        {
            return SenseData.WriteProtected;
        }

        if (blocks > UnitLimits.MaxWriteSameBlocks)
        {
            return SenseData.InvalidFieldInCdb(ws10 ? 7 : 10);
        }

        var noDataOut = !ws10 && (cdb[1] & 0x01) != 0;
        return noDataOut ? ScsiPlan.NoData : ScsiPlan.Blocks(ScsiProtocol.BlockSize);
    }

    /// <summary>WRITE SAME (SBC-3 5.41, 5.42): zeroes become write-zeroes (a trim with UNMAP), any other block is written out.</summary>
    public async ValueTask<ScsiResult> WriteSameAsync(ReadOnlyMemory<byte> cdb, ReadOnlyMemory<byte> dataOut, CancellationToken cancellationToken)
    {
        var ws10 = cdb.Span[0] == (byte)ScsiOpcode.WriteSame10;
        var (lba, blocks) = ws10 ? ((ulong)Cdb.U32(cdb.Span, 2), (ulong)Cdb.U16(cdb.Span, 7)) : (Cdb.U64(cdb.Span, 2), (ulong)Cdb.U32(cdb.Span, 10));
        var unmap = (cdb.Span[1] & 0x08) != 0;
        var noDataOut = !ws10 && (cdb.Span[1] & 0x01) != 0;
        if (!noDataOut && dataOut.Length != ScsiProtocol.BlockSize)
        {
            return SenseData.Illegal(AdditionalSense.InvalidFieldInInformationUnit);
        }

        var offset = (long)lba << ScsiProtocol.BlockShift;
        var length = (long)blocks << ScsiProtocol.BlockShift;
        if (noDataOut || !dataOut.Span.ContainsAnyExcept((byte)0))
        {
            var flags = (unmap ? WriteFlags.MayTrim : WriteFlags.None) | (medium.State.WriteCacheEnabled ? WriteFlags.None : WriteFlags.ForceUnitAccess);
            await medium.Device.WriteZeroesAsync(offset, length, flags, cancellationToken);
            return ScsiResult.Good;
        }

        var chunk = (int)Math.Min(length, 1 << 20);
        var pattern = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            for (var at = 0; at < chunk; at += ScsiProtocol.BlockSize)
            {
                dataOut.Span.CopyTo(pattern.AsSpan(at));
            }

            for (long done = 0; done < length; done += chunk)
            {
                var piece = (int)Math.Min(chunk, length - done);
                await medium.WriteAsync(offset + done, pattern.AsMemory(0, piece), forceUnitAccess: false, cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pattern);
        }

        return ScsiResult.Good;
    }

    public ScsiPlan PlanUnmap(ReadOnlySpan<byte> cdb)
    {
        if ((cdb[1] & 0x01) != 0)
        {
            return SenseData.InvalidFieldInCdb(1, 0);
        }

        if (medium.ReadOnly)
        {
            return SenseData.WriteProtected;
        }

        var length = Cdb.U16(cdb, 7);
        if (length is > 0 and < 8)
        {
            return SenseData.Illegal(AdditionalSense.ParameterListLengthError);
        }

        return length == 0 ? ScsiPlan.Finished(ScsiResult.Good) : ScsiPlan.Whole(length);
    }

    /// <summary>UNMAP (SBC-3 5.28): every descriptor is checked before any range is trimmed.</summary>
    public async ValueTask<ScsiResult> UnmapAsync(ReadOnlyMemory<byte> parameters, CancellationToken cancellationToken)
    {
        if (parameters.Length < 8)
        {
            return parameters.Length == 0 ? ScsiResult.Good : SenseData.Illegal(AdditionalSense.ParameterListLengthError);
        }

        var descriptorBytes = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(parameters.Span[2..]), parameters.Length - 8);
        var count = descriptorBytes / 16;
        if (count > UnitLimits.MaxUnmapDescriptors)
        {
            return SenseData.InvalidFieldInParameterList(2);
        }

        for (var i = 0; i < count; i++)
        {
            var descriptor = parameters.Span.Slice(8 + (16 * i), 16);
            var lba = BinaryPrimitives.ReadUInt64BigEndian(descriptor);
            var blocks = BinaryPrimitives.ReadUInt32BigEndian(descriptor[8..]);
            if (medium.OutOfRange(lba, blocks))
            {
                return SenseData.LbaOutOfRange;
            }

            if (blocks > UnitLimits.MaxUnmapBlocks)
            {
                return SenseData.InvalidFieldInParameterList(8 + (16 * i) + 8);
            }
        }

        for (var i = 0; i < count; i++)
        {
            var descriptor = parameters.Slice(8 + (16 * i), 16);
            var lba = BinaryPrimitives.ReadUInt64BigEndian(descriptor.Span);
            var blocks = BinaryPrimitives.ReadUInt32BigEndian(descriptor.Span[8..]);
            if (blocks > 0)
            {
                await medium.Device.TrimAsync((long)lba << ScsiProtocol.BlockShift, (long)blocks << ScsiProtocol.BlockShift, WriteFlags.None, cancellationToken);
            }
        }

        return ScsiResult.Good;
    }
}
