using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Native;

namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>
/// A qcow2 (version 2 or 3) image as a block device: reads through L1/L2
/// tables, falls back to the backing image for unallocated clusters,
/// allocates clusters on write and keeps refcounts exact so that
/// <c>qemu-img check</c> finds nothing.
/// </summary>
/// <remarks>
/// Design note. Guest data goes straight to the file; metadata (L1, L2 and
/// refcount tables) is changed in memory and written back by
/// <see cref="FlushAsync"/> in dependency order, with an fdatasync between
/// steps: refcount blocks (which also makes the data durable), then the
/// refcount table, then L2 tables, then L1, then the refcounts of freed
/// clusters. At any moment the file on disk is therefore the image as of the
/// last flush plus, at worst, clusters that are counted but not referenced
/// (leaks, which qemu-img check -r leaks repairs). Freed clusters are reused
/// only after the flush that made their release durable. One semaphore
/// serialises metadata changes and flushes; reads take no lock: they look up
/// the L2 entry (an atomic 64-bit read) and pread. Writes to clusters that are
/// already allocated only hold a reader-writer gate shared, which flush takes
/// exclusively before it reuses released clusters, so a pwrite racing a trim
/// can never land in a cluster that now belongs to another guest cluster.
/// </remarks>
public sealed partial class Qcow2Image : IBlockDevice, IReadMapping
{
    private readonly SafeFileHandle _handle;
    private readonly Qcow2Header _header;
    private readonly IBlockDevice? _backing;
    private readonly bool _readOnly;
    private readonly int _clusterBits;
    private readonly int _clusterSize;
    private readonly int _l2Bits;
    private readonly bool _version3;
    private readonly long _backingSize;
    private readonly ulong[] _l1;
    private readonly ulong[]?[] _l2Tables;
    private readonly Queue<long> _loadedL2Tables = new();
    private readonly Lock _l2LoadLock = new();
    private readonly SemaphoreSlim _metadataLock = new(1, 1);
    private readonly ReaderWriterLockSlim _reuseGate = new(LockRecursionPolicy.NoRecursion);
    private long _fileLength;
    private FileMapping? _mapping;
    private int _mappingTried;
    private bool _disposed;
    private bool _ownsBacking = true;

    private Qcow2Image(string path, SafeFileHandle handle, Qcow2Header header, IBlockDevice? backing, bool readOnly, long fileLength)
    {
        Path = path;
        _handle = handle;
        _header = header;
        _backing = backing;
        _readOnly = readOnly;
        _clusterBits = header.ClusterBits;
        _clusterSize = header.ClusterSize;
        _l2Bits = header.ClusterBits - 3;
        _version3 = header.Version >= 3;
        Size = header.Size;
        _backingSize = backing?.Size ?? 0;
        _fileLength = fileLength;
        _l1 = new ulong[header.L1Size];
        _l2Tables = new ulong[header.L1Size][];
    }

    public string Path { get; }

    public long Size { get; }

    public int ClusterSize => _clusterSize;

    /// <summary>The image below this one, or null at the bottom of the chain.</summary>
    public IBlockDevice? Backing => _backing;

    /// <summary>The header as read at open (backing file name and format included).</summary>
    public Qcow2Header Header => _header;

    public BlockDeviceCapabilities Capabilities => _readOnly
        ? BlockDeviceCapabilities.ReadOnly | BlockDeviceCapabilities.CanExtents | BlockDeviceCapabilities.CanMultiConn
        : BlockDeviceCapabilities.CanTrim | BlockDeviceCapabilities.CanZero | BlockDeviceCapabilities.CanFua
          | BlockDeviceCapabilities.CanFlush | BlockDeviceCapabilities.CanExtents | BlockDeviceCapabilities.CanMultiConn;

    /// <summary>Opens an image and, through its backing file names, the whole chain below it.</summary>
    public static Qcow2Image Open(string path, bool readOnly) => Open(path, readOnly, new ImageChainContext());

    /// <summary>
    /// Opens an image for writing on top of a layer the caller owns and shares
    /// (a per-session write cache over the shared read-only chain): unallocated
    /// clusters read from <paramref name="lower"/>, whatever backing file name
    /// the header holds, and disposing the image leaves <paramref name="lower"/> open.
    /// </summary>
    public static Qcow2Image OpenOver(string path, IBlockDevice lower, bool readOnly = false) => Open(path, readOnly, new ImageChainContext(), lower);

    internal static Qcow2Image Open(string path, bool readOnly, ImageChainContext chain, IBlockDevice? lower = null)
    {
        chain.Enter(path);
        var handle = File.OpenHandle(
            path,
            FileMode.Open,
            readOnly ? FileAccess.Read : FileAccess.ReadWrite,
            // A writer holds the file exclusively (flock on Linux): a private
            // image booted twice, or a version in use being merged, fails to
            // open instead of being written by two owners.
            readOnly ? FileShare.ReadWrite : FileShare.None);
        IBlockDevice? backing = null;
        try
        {
            var fileLength = RandomAccess.GetLength(handle);
            var header = ReadHeader(handle, fileLength, path);
            if (!readOnly)
            {
                ThrowIfNotWritable(header, path);
            }

            if (lower is not null)
            {
                backing = lower;
            }
            else if (header.BackingFile is not null)
            {
                backing = ImageChain.OpenBacking(path, header.BackingFile, header.BackingFormat, chain);
            }

            var image = new Qcow2Image(path, handle, header, backing, readOnly, fileLength) { _ownsBacking = lower is null };
            image.LoadL1();
            if (!readOnly)
            {
                image.LoadRefcountTable();
                image.ClearAutoclearFeatures();
            }

            return image;
        }
        catch
        {
            if (lower is null)
            {
                backing?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            handle.Dispose();
            throw;
        }
    }

    private static Qcow2Header ReadHeader(SafeFileHandle handle, long fileLength, string path)
    {
        Span<byte> start = stackalloc byte[Qcow2Header.Version2Length];
        var n = RandomAccess.Read(handle, start, 0);
        if (n < Qcow2Header.Version2Length)
        {
            throw Qcow2Header.Corrupt(path, $"the file is {fileLength} bytes, shorter than a qcow2 header");
        }

        var clusterBits = BinaryPrimitives.ReadUInt32BigEndian(start[20..]);
        var firstCluster = new byte[(int)Math.Min(fileLength, 1L << (int)Math.Clamp(clusterBits, 9, 21))];
        n = RandomAccess.Read(handle, firstCluster, 0);
        return Qcow2Header.Parse(firstCluster.AsSpan(0, n), fileLength, path);
    }

    private static void ThrowIfNotWritable(Qcow2Header header, string path)
    {
        if ((header.IncompatibleFeatures & Qcow2IncompatibleFeatures.Dirty) != 0)
        {
            throw new BlockDeviceException(BlockDeviceError.Corrupt, $"{path}: the dirty bit is set (lazy refcounts, not closed cleanly); run 'qemu-img check -r all' before writing to it.");
        }

        if ((header.IncompatibleFeatures & Qcow2IncompatibleFeatures.Corrupt) != 0)
        {
            throw new BlockDeviceException(BlockDeviceError.Corrupt, $"{path}: the image is marked corrupt; it can only be opened read-only.");
        }

        if (header.NbSnapshots != 0)
        {
            throw new BlockDeviceException(BlockDeviceError.ReadOnly, $"{path}: has {header.NbSnapshots} internal snapshots; writing images with internal snapshots is not supported (open it read-only).");
        }

        if (header.RefcountOrder != 4)
        {
            throw new BlockDeviceException(BlockDeviceError.ReadOnly, $"{path}: refcount_order {header.RefcountOrder} is only supported read-only (Streamboot writes 16-bit refcounts).");
        }
    }

    private void LoadL1()
    {
        var bytes = new byte[_l1.Length * 8];
        ReadExactly(bytes, _header.L1TableOffset, "L1 table");
        for (var i = 0; i < _l1.Length; i++)
        {
            _l1[i] = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(i * 8));
        }
    }

    /// <summary>
    /// Memory for cached L2 tables (64 MiB by default: 512 GiB of disk with
    /// 64 KiB clusters). Read-only images evict the oldest tables as they load
    /// new ones; writable images evict clean tables at each flush, because a
    /// table with unwritten changes must stay.
    /// </summary>
    public long MaxL2CacheBytes { get; set; } = 64L << 20;

    /// <summary>The L2 table of an L1 index, loaded on first use; null when unallocated.</summary>
    private ulong[]? GetL2Table(long l1Index)
    {
        var table = Volatile.Read(ref _l2Tables[l1Index]);
        return table ?? LoadL2Table(l1Index);
    }

    /// <summary>
    /// Loads under a lock that eviction also takes, so a table read from disk
    /// can never be installed after a newer copy was changed, flushed and evicted.
    /// </summary>
    private ulong[]? LoadL2Table(long l1Index)
    {
        lock (_l2LoadLock)
        {
            var table = Volatile.Read(ref _l2Tables[l1Index]);
            if (table is not null)
            {
                return table;
            }

            var entry = Volatile.Read(ref _l1[l1Index]);
            var offset = (long)(entry & Qcow2L2Entry.OffsetMask);
            if (offset == 0)
            {
                return null;
            }

            if (offset % _clusterSize != 0 || offset > _fileLength - _clusterSize)
            {
                throw Qcow2Header.Corrupt(Path, $"L1 entry {l1Index} points to an L2 table at {offset}, which is unaligned or past the end of the file ({_fileLength} bytes)");
            }

            var bytes = new byte[_clusterSize];
            ReadExactly(bytes, offset, "L2 table");
            table = new ulong[_clusterSize / 8];
            for (var i = 0; i < table.Length; i++)
            {
                table[i] = BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(i * 8));
            }

            Volatile.Write(ref _l2Tables[l1Index], table);
            _loadedL2Tables.Enqueue(l1Index);
            if (_readOnly)
            {
                EvictL2TablesLocked();
            }

            return table;
        }
    }

    /// <summary>Registers a table created in memory (caller holds the metadata lock).</summary>
    private void AddNewL2Table(long l1Index, ulong[] table)
    {
        lock (_l2LoadLock)
        {
            Volatile.Write(ref _l2Tables[l1Index], table);
            _loadedL2Tables.Enqueue(l1Index);
        }
    }

    /// <summary>Drops the oldest clean tables over the bound (caller holds the load lock; writers hold the metadata lock too).</summary>
    private void EvictL2TablesLocked()
    {
        var max = Math.Max(4, MaxL2CacheBytes / _clusterSize);
        for (var tries = _loadedL2Tables.Count; _loadedL2Tables.Count > max && tries > 0; tries--)
        {
            var l1Index = _loadedL2Tables.Dequeue();
            if (_dirtyL2Tables.Contains(l1Index))
            {
                _loadedL2Tables.Enqueue(l1Index);
                continue;
            }

            Volatile.Write(ref _l2Tables[l1Index], null);
        }
    }

    private ulong GetL2Entry(long clusterIndex)
    {
        var l1Index = clusterIndex >> _l2Bits;
        if (l1Index >= _l1.Length)
        {
            return 0;
        }

        var table = GetL2Table(l1Index);
        return table is null ? 0 : Volatile.Read(ref table[clusterIndex & ((1L << _l2Bits) - 1)]);
    }

    private void ReadExactly(Span<byte> buffer, long offset, string what)
    {
        try
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var n = RandomAccess.Read(_handle, buffer[done..], offset + done);
                if (n == 0)
                {
                    throw Qcow2Header.Corrupt(Path, $"the {what} at {offset} (+{buffer.Length} bytes) runs past the end of the file");
                }

                done += n;
            }
        }
        catch (IOException e) when (e is not BlockDeviceException)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, $"{Path}: reading the {what} at {offset} failed: {e.Message}", e);
        }
    }

    private void WriteAt(ReadOnlySpan<byte> data, long offset)
    {
        try
        {
            RandomAccess.Write(_handle, data, offset);
        }
        catch (IOException e)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, $"{Path}: write at {offset} failed: {e.Message}", e);
        }

        var end = offset + data.Length;
        long current;
        while ((current = Volatile.Read(ref _fileLength)) < end && Interlocked.CompareExchange(ref _fileLength, end, current) != current)
        {
        }
    }

    private void Sync()
    {
        try
        {
            LibC.DataSync(_handle, Path);
        }
        catch (IOException e) when (e is not BlockDeviceException)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, e.Message, e);
        }
    }

    private void ThrowIfReadOnly()
    {
        if (_readOnly)
        {
            throw new BlockDeviceException(BlockDeviceError.ReadOnly, $"{Path} is open read-only.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (!_readOnly)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _disposed = true;
            Interlocked.Exchange(ref _mappingTried, 1);
            Volatile.Read(ref _mapping)?.Dispose();
            _handle.Dispose();
            if (_backing is not null && _ownsBacking)
            {
                await _backing.DisposeAsync().ConfigureAwait(false);
            }

            _metadataLock.Dispose();
            _reuseGate.Dispose();
        }
    }
}
