using System.Buffers.Binary;
using Streamboot.Storage.Native;

namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>Writes metadata back in dependency order with a barrier between steps.</summary>
public sealed partial class Qcow2Image
{
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_readOnly)
        {
            return;
        }

        await _metadataLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            FlushMetadata();
        }
        finally
        {
            _metadataLock.Release();
        }
    }

    private void FlushMetadata()
    {
        // 1. Refcount blocks: whatever is referenced below must be counted first.
        //    The fdatasync also makes every data cluster written so far durable.
        WriteDirtyRefcountBlocks();
        Sync();

        // 2. The refcount table, then the header if the table moved.
        if (_refcountTableDirty)
        {
            WriteTable(_refcountTable, _refcountTableOffset);
            Sync();
            if (_oldRefcountTable is { } old)
            {
                Span<byte> fields = stackalloc byte[12];
                BinaryPrimitives.WriteUInt64BigEndian(fields, (ulong)_refcountTableOffset);
                BinaryPrimitives.WriteUInt32BigEndian(fields[8..], (uint)_refcountTableClusters);
                WriteAt(fields, 48);
                Sync();
                _header.RefcountTableOffset = _refcountTableOffset;
                _header.RefcountTableClusters = _refcountTableClusters;
                _pendingReleases.Add((old.Offset, (long)old.Clusters * _clusterSize));
                _oldRefcountTable = null;
            }

            _refcountTableDirty = false;
        }

        // 3. L2 tables: they point at data and are counted.
        if (_dirtyL2Tables.Count > 0)
        {
            foreach (var l1Index in _dirtyL2Tables)
            {
                WriteTable(_l2Tables[l1Index]!, (long)(_l1[l1Index] & Qcow2L2Entry.OffsetMask));
            }

            _dirtyL2Tables.Clear();
            Sync();
        }

        // 4. L1: only now do new L2 tables become reachable.
        if (_l1Dirty)
        {
            WriteTable(_l1, _header.L1TableOffset);
            _l1Dirty = false;
            Sync();
        }

        // Every L2 table is clean now: keep the cache within its bound.
        lock (_l2LoadLock)
        {
            EvictL2TablesLocked();
        }

        // 5. Nothing on disk references the released clusters any more:
        //    drop their refcounts, punch them out, let them be reused.
        if (_pendingReleases.Count > 0)
        {
            var freed = new List<long>();
            foreach (var (offset, length) in _pendingReleases)
            {
                var first = offset >> _clusterBits;
                var last = (offset + length - 1) >> _clusterBits;
                for (var c = first; c <= last; c++)
                {
                    if (AddRefcount(c, -1) == 0)
                    {
                        freed.Add(c << _clusterBits);
                    }
                }
            }

            _pendingReleases.Clear();
            WriteDirtyRefcountBlocks();
            Sync();
            _reuseGate.EnterWriteLock();
            try
            {
                foreach (var host in freed)
                {
                    _ = LibC.Fallocate(_handle, LibC.FallocPunchHole | LibC.FallocKeepSize, host, _clusterSize);
                    _freeClusters.Push(host);
                }
            }
            finally
            {
                _reuseGate.ExitWriteLock();
            }
        }
    }

    private void WriteDirtyRefcountBlocks()
    {
        foreach (var blockIndex in _dirtyRefcountBlocks)
        {
            WriteAt(_refcountBlocks[blockIndex], (long)(_refcountTable[blockIndex] & RefcountTableOffsetMask));
        }

        _dirtyRefcountBlocks.Clear();
    }

    private void WriteTable(ulong[] table, long offset)
    {
        var bytes = new byte[table.Length * 8];
        for (var i = 0; i < table.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(i * 8), Volatile.Read(ref table[i]));
        }

        WriteAt(bytes, offset);
    }

}
