using System.Buffers.Binary;

namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>
/// Refcount table and blocks (qcow2.txt "Host cluster management"), kept in
/// memory while the image is writable. Streamboot writes 16-bit refcounts
/// (refcount_order 4, qemu's default). New clusters come from the free list
/// (clusters whose release a flush made durable) or from the end of the file.
/// </summary>
public sealed partial class Qcow2Image
{
    private const ulong RefcountTableOffsetMask = 0xffff_ffff_ffff_fe00UL;

    private readonly Dictionary<long, byte[]> _refcountBlocks = [];
    private readonly HashSet<long> _dirtyRefcountBlocks = [];
    private readonly HashSet<long> _dirtyL2Tables = [];
    private readonly List<(long Offset, long Length)> _pendingReleases = [];
    private readonly Stack<long> _freeClusters = new();
    private ulong[] _refcountTable = [];
    private long _refcountTableOffset;
    private int _refcountTableClusters;
    private (long Offset, int Clusters)? _oldRefcountTable;
    private bool _refcountTableDirty;
    private bool _l1Dirty;
    private long _nextFree;

    private int RefcountBlockBits => _clusterBits + 3 - 4; // entries per block = cluster bits / 16

    private void LoadRefcountTable()
    {
        _refcountTableOffset = _header.RefcountTableOffset;
        _refcountTableClusters = _header.RefcountTableClusters;
        var bytes = new byte[(long)_refcountTableClusters * _clusterSize];
        ReadExactly(bytes, _refcountTableOffset, "refcount table");
        _refcountTable = new ulong[bytes.Length / 8];
        for (var i = 0; i < _refcountTable.Length; i++)
        {
            _refcountTable[i] = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(i * 8));
        }

        _nextFree = (_fileLength + _clusterSize - 1) & ~(long)(_clusterSize - 1);
    }

    /// <summary>Clears autoclear bits we do not maintain (bitmaps), as qcow2.txt asks of writers that do not know them.</summary>
    private void ClearAutoclearFeatures()
    {
        if (_header.AutoclearFeatures == 0)
        {
            return;
        }

        Span<byte> zero = stackalloc byte[8];
        WriteAt(zero, 88);
        Sync();
        _header.AutoclearFeatures = 0;
    }

    /// <summary>One cluster with refcount 1 (caller holds the metadata lock).</summary>
    private long AllocateCluster()
    {
        if (_freeClusters.TryPop(out var reused))
        {
            AddRefcount(reused >> _clusterBits, 1);
            return reused;
        }

        var host = _nextFree;
        _nextFree += _clusterSize;
        AddRefcount(host >> _clusterBits, 1);
        return host;
    }

    private int AddRefcount(long hostCluster, int delta)
    {
        var blockIndex = hostCluster >> RefcountBlockBits;
        var block = GetRefcountBlock(blockIndex, create: delta > 0);
        var at = (int)(hostCluster & ((1L << RefcountBlockBits) - 1)) * 2;
        var value = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(at)) + delta;
        if (value is < 0 or > ushort.MaxValue)
        {
            throw Qcow2Header.Corrupt(Path, $"the refcount of host cluster {hostCluster} would become {value}");
        }

        BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(at), (ushort)value);
        _dirtyRefcountBlocks.Add(blockIndex);
        return value;
    }

    private byte[] GetRefcountBlock(long blockIndex, bool create)
    {
        if (_refcountBlocks.TryGetValue(blockIndex, out var block))
        {
            return block;
        }

        if (blockIndex >= _refcountTable.Length)
        {
            if (!create)
            {
                throw Qcow2Header.Corrupt(Path, $"refcount block {blockIndex} is beyond the refcount table");
            }

            // Counting the new table may already have created this block.
            GrowRefcountTable(blockIndex);
            return GetRefcountBlock(blockIndex, create);
        }

        var offset = (long)(_refcountTable[blockIndex] & RefcountTableOffsetMask);
        if (offset == 0)
        {
            if (!create)
            {
                throw Qcow2Header.Corrupt(Path, $"refcount block {blockIndex} is missing for a cluster in use");
            }

            // The new block goes at the end of the file and counts itself
            // (or is counted by the next block, which is created the same way).
            var host = _nextFree;
            _nextFree += _clusterSize;
            block = new byte[_clusterSize];
            _refcountBlocks[blockIndex] = block;
            _refcountTable[blockIndex] = (ulong)host;
            _refcountTableDirty = true;
            _dirtyRefcountBlocks.Add(blockIndex);
            AddRefcount(host >> _clusterBits, 1);
            return block;
        }

        if (offset % _clusterSize != 0 || offset > _fileLength - _clusterSize)
        {
            throw Qcow2Header.Corrupt(Path, $"refcount block {blockIndex} at {offset} is unaligned or past the end of the file");
        }

        block = new byte[_clusterSize];
        ReadExactly(block, offset, "refcount block");
        _refcountBlocks[blockIndex] = block;
        return block;
    }

    /// <summary>
    /// Moves the refcount table to a bigger one at the end of the file. The
    /// header points to it only after it is written and synced; the old
    /// table's clusters are released after that.
    /// </summary>
    private void GrowRefcountTable(long neededIndex)
    {
        var entriesPerCluster = _clusterSize / 8;
        var coverNew = ((_nextFree >> _clusterBits) + 64) >> RefcountBlockBits;
        var entries = Math.Max(Math.Max(neededIndex + 2, coverNew + 2), _refcountTable.Length * 2L);
        var clusters = (int)((entries + entriesPerCluster - 1) / entriesPerCluster);
        var table = new ulong[(long)clusters * entriesPerCluster];
        _refcountTable.CopyTo(table, 0);
        if (_oldRefcountTable is null)
        {
            _oldRefcountTable = (_refcountTableOffset, _refcountTableClusters);
        }
        else
        {
            // Grown twice between flushes: the intermediate table never
            // reached the header, so its clusters are simply released.
            _pendingReleases.Add((_refcountTableOffset, (long)_refcountTableClusters * _clusterSize));
        }

        var host = _nextFree;
        _nextFree += (long)clusters * _clusterSize;
        _refcountTable = table;
        _refcountTableOffset = host;
        _refcountTableClusters = clusters;
        _refcountTableDirty = true;
        for (var i = 0; i < clusters; i++)
        {
            AddRefcount((host >> _clusterBits) + i, 1);
        }
    }
}
