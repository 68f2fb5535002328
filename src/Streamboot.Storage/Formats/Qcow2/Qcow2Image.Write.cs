using System.Buffers;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>Writes, trims and write-zeroes: in place when the cluster is ours, otherwise allocate.</summary>
public sealed partial class Qcow2Image
{
    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, data.Length);
        await WriteCoreAsync(offset, data).ConfigureAwait(false);
        if ((flags & WriteFlags.ForceUnitAccess) != 0)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask WriteCoreAsync(long offset, ReadOnlyMemory<byte> data)
    {
        var mask = _clusterSize - 1;
        while (!data.IsEmpty)
        {
            var clusterIndex = offset >> _clusterBits;
            var inCluster = (int)(offset & mask);
            var n = Math.Min(_clusterSize - inCluster, data.Length);
            var entry = GetL2Entry(clusterIndex);
            if (Qcow2L2Entry.IsWritableInPlace(entry) && TryWriteInPlace(clusterIndex, inCluster, data.Span[..n]))
            {
            }
            else if (inCluster == 0 && data.Length >= 2 * _clusterSize)
            {
                // Whole new clusters in a row (an import, a large guest write)
                // get one contiguous host range and one pwrite.
                var run = 1;
                while (run < MaxAllocationRun && (run + 1) * _clusterSize <= data.Length
                    && !Qcow2L2Entry.IsWritableInPlace(GetL2Entry(clusterIndex + run)))
                {
                    run++;
                }

                n = run * _clusterSize;
                await AllocatingWriteRunAsync(clusterIndex, run, data[..n]).ConfigureAwait(false);
            }
            else
            {
                await AllocatingWriteAsync(clusterIndex, inCluster, data[..n]).ConfigureAwait(false);
            }

            offset += n;
            data = data[n..];
        }
    }

    private const int MaxAllocationRun = 256;

    /// <summary>
    /// The lock-free write: the entry is read again under the reuse gate, so
    /// a cluster released by a concurrent trim cannot be handed to another
    /// guest cluster (flush takes the gate exclusively before reusing it)
    /// while this pwrite is still on its way to the old place.
    /// </summary>
    private bool TryWriteInPlace(long clusterIndex, int inCluster, ReadOnlySpan<byte> data)
    {
        _reuseGate.EnterReadLock();
        try
        {
            var entry = GetL2Entry(clusterIndex);
            if (!Qcow2L2Entry.IsWritableInPlace(entry))
            {
                return false;
            }

            WriteAt(data, Qcow2L2Entry.HostOffset(entry) + inCluster);
            return true;
        }
        finally
        {
            _reuseGate.ExitReadLock();
        }
    }

    private async ValueTask AllocatingWriteRunAsync(long firstCluster, int count, ReadOnlyMemory<byte> data)
    {
        await _metadataLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var contiguous = true;
            for (var i = 0; i < count && contiguous; i++)
            {
                contiguous = !Qcow2L2Entry.IsWritableInPlace(GetL2Entry(firstCluster + i));
            }

            if (!contiguous || _freeClusters.Count > 0)
            {
                // Someone allocated part of the run meanwhile, or freed
                // clusters should be reused first: go cluster by cluster.
                for (var i = 0; i < count; i++)
                {
                    await AllocatingWriteLockedAsync(firstCluster + i, 0, data.Slice(i * _clusterSize, _clusterSize)).ConfigureAwait(false);
                }

                return;
            }

            var tables = new ulong[count][];
            for (var i = 0; i < count; i++)
            {
                tables[i] = EnsureL2Table((firstCluster + i) >> _l2Bits);
            }

            // Reserve the range first: refcount blocks created while counting
            // it land after it, so the data stays in one piece.
            var host = _nextFree;
            _nextFree += (long)count * _clusterSize;
            for (var i = 0; i < count; i++)
            {
                AddRefcount((host >> _clusterBits) + i, 1);
            }

            WriteAt(data.Span, host);
            for (var i = 0; i < count; i++)
            {
                var old = GetL2Entry(firstCluster + i);
                SetL2Entry(tables[i], firstCluster + i, (ulong)(host + ((long)i * _clusterSize)) | Qcow2L2Entry.Copied, old);
            }
        }
        finally
        {
            _metadataLock.Release();
        }
    }

    /// <summary>
    /// Copy-on-write of one cluster: the old contents (backing image, zeroes,
    /// compressed or shared data) are merged with the new bytes and written to
    /// a fresh cluster before the L2 entry is switched to it.
    /// </summary>
    private async ValueTask AllocatingWriteAsync(long clusterIndex, int inCluster, ReadOnlyMemory<byte> piece)
    {
        await _metadataLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await AllocatingWriteLockedAsync(clusterIndex, inCluster, piece).ConfigureAwait(false);
        }
        finally
        {
            _metadataLock.Release();
        }
    }

    private async ValueTask AllocatingWriteLockedAsync(long clusterIndex, int inCluster, ReadOnlyMemory<byte> piece)
    {
        var cluster = ArrayPool<byte>.Shared.Rent(_clusterSize);
        try
        {
            var entry = GetL2Entry(clusterIndex);
            if (Qcow2L2Entry.IsWritableInPlace(entry))
            {
                // Another writer allocated it while we waited for the lock.
                WriteAt(piece.Span, Qcow2L2Entry.HostOffset(entry) + inCluster);
                return;
            }

            var buffer = cluster.AsMemory(0, _clusterSize);
            if (piece.Length < _clusterSize)
            {
                var clusterStart = clusterIndex << _clusterBits;
                var inImage = (int)Math.Min(_clusterSize, Size - clusterStart);
                await ReadCoreAsync(clusterStart, buffer[..inImage]).ConfigureAwait(false);
                buffer.Span[inImage..].Clear();
            }

            piece.Span.CopyTo(buffer.Span[inCluster..]);
            var table = EnsureL2Table(clusterIndex >> _l2Bits);
            var host = AllocateCluster();
            WriteAt(buffer.Span, host);
            SetL2Entry(table, clusterIndex, (ulong)host | Qcow2L2Entry.Copied, entry);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(cluster);
        }
    }

    /// <summary>Publishes a new L2 entry and schedules the release of whatever the old one held.</summary>
    private void SetL2Entry(ulong[] table, long clusterIndex, ulong newEntry, ulong oldEntry)
    {
        Volatile.Write(ref table[clusterIndex & ((1L << _l2Bits) - 1)], newEntry);
        _dirtyL2Tables.Add(clusterIndex >> _l2Bits);
        QueueRelease(oldEntry);
    }

    private void QueueRelease(ulong oldEntry)
    {
        if (Qcow2L2Entry.IsCompressed(oldEntry))
        {
            var sizeShift = 62 - (_clusterBits - 8);
            var host = (long)(oldEntry & ((1UL << sizeShift) - 1));
            var sectors = (long)((oldEntry >> sizeShift) & ((1UL << (_clusterBits - 8)) - 1)) + 1;
            var start = host & ~511L;
            _pendingReleases.Add((start, sectors * 512));
        }
        else if (Qcow2L2Entry.HostOffset(oldEntry) != 0)
        {
            _pendingReleases.Add((Qcow2L2Entry.HostOffset(oldEntry), _clusterSize));
        }
    }

    /// <summary>The L2 table for an L1 index, allocating an empty one if there is none (caller holds the lock).</summary>
    private ulong[] EnsureL2Table(long l1Index)
    {
        var table = GetL2Table(l1Index);
        if (table is not null)
        {
            if ((_l1[l1Index] & Qcow2L2Entry.Copied) == 0)
            {
                throw Qcow2Header.Corrupt(Path, $"the L2 table of L1 entry {l1Index} is shared (COPIED flag clear) and cannot be written in place");
            }

            return table;
        }

        var host = AllocateCluster();
        table = new ulong[_clusterSize / 8];
        AddNewL2Table(l1Index, table);
        Volatile.Write(ref _l1[l1Index], (ulong)host | Qcow2L2Entry.Copied);
        _l1Dirty = true;
        _dirtyL2Tables.Add(l1Index);
        return table;
    }

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        WriteZeroesAsync(offset, length, flags | WriteFlags.MayTrim, cancellationToken);

    /// <summary>
    /// Whole clusters become zero clusters (L2 bit 0, version 3) and give
    /// their storage back; partial clusters at the ends get written zeroes.
    /// Version 2 has no zero flag: a cluster is unallocated when nothing
    /// shows through from below, and written with zeroes otherwise.
    /// </summary>
    public async ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        var end = offset + length;
        var firstWhole = (offset + _clusterSize - 1) & ~(long)(_clusterSize - 1);
        var lastWhole = end == Size ? (end + _clusterSize - 1) & ~(long)(_clusterSize - 1) : end & ~(long)(_clusterSize - 1);
        if (firstWhole >= lastWhole)
        {
            await WriteZeroBytesAsync(offset, length).ConfigureAwait(false);
        }
        else
        {
            await WriteZeroBytesAsync(offset, firstWhole - offset).ConfigureAwait(false);
            await ZeroClustersAsync(firstWhole >> _clusterBits, lastWhole >> _clusterBits).ConfigureAwait(false);
            if (lastWhole < end)
            {
                await WriteZeroBytesAsync(lastWhole, end - lastWhole).ConfigureAwait(false);
            }
        }

        if ((flags & WriteFlags.ForceUnitAccess) != 0)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask WriteZeroBytesAsync(long offset, long length)
    {
        while (length > 0)
        {
            var n = (int)Math.Min(length, _clusterSize);
            await WriteCoreAsync(offset, ZeroCluster.AsMemory(0, n)).ConfigureAwait(false);
            offset += n;
            length -= n;
        }
    }

    private byte[] ZeroCluster => field ??= new byte[_clusterSize];

    private async ValueTask ZeroClustersAsync(long firstCluster, long endCluster)
    {
        var v3 = _header.Version >= 3;
        for (var clusterIndex = firstCluster; clusterIndex < endCluster; clusterIndex++)
        {
            var showsBacking = _backing is not null && (clusterIndex << _clusterBits) < _backing.Size;
            if (!v3 && showsBacking)
            {
                await WriteZeroBytesAsync(clusterIndex << _clusterBits, Math.Min(_clusterSize, Size - (clusterIndex << _clusterBits))).ConfigureAwait(false);
                continue;
            }

            await _metadataLock.WaitAsync().ConfigureAwait(false);
            try
            {
                var entry = GetL2Entry(clusterIndex);
                var kind = Classify(entry);
                if ((kind == ClusterKind.Unallocated && !showsBacking) || (kind == ClusterKind.Zero && Qcow2L2Entry.HostOffset(entry) == 0))
                {
                    continue; // already reads as zeroes and holds no storage
                }

                var table = EnsureL2Table(clusterIndex >> _l2Bits);
                SetL2Entry(table, clusterIndex, v3 && showsBacking ? Qcow2L2Entry.ZeroFlag : 0, entry);
            }
            finally
            {
                _metadataLock.Release();
            }
        }
    }
}
