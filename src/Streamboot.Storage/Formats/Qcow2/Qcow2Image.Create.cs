using System.Buffers.Binary;
using Streamboot.Storage.Native;

namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>Creating an empty version 3 image, optionally on top of a backing file.</summary>
public sealed partial class Qcow2Image
{
    public const int DefaultClusterSize = 64 * 1024;

    /// <summary>
    /// Creates an empty qcow2 v3 image (fails if the file exists). With a
    /// backing file the new image is a copy-on-write layer over it: the name
    /// is stored as given (relative names are relative to the new image's
    /// folder, as qemu resolves them) and the backing format is probed when
    /// not given. <paramref name="size"/> 0 with a backing file means "the
    /// backing file's size". The size is rounded up to a multiple of 512.
    /// </summary>
    /// <remarks>
    /// Layout: header cluster, refcount table, the refcount blocks that count
    /// the metadata, then the L1 table. The refcount table is sized for the
    /// whole disk twice over so a layer can be rewritten without moving it
    /// (it can still grow when needed). With <paramref name="preallocate"/>
    /// every cluster is allocated at creation (qemu-img's
    /// <c>preallocation=falloc</c>): the L2 tables follow the L1 table, each
    /// guest cluster maps to its own host cluster in order, the refcount blocks
    /// count them all, and the file's blocks are reserved with fallocate, so
    /// the disk never runs out of space or fragments later.
    /// </remarks>
    public static void Create(string path, long size, int clusterSize = DefaultClusterSize, string? backingFile = null, string? backingFormat = null, bool preallocate = false)
    {
        if (preallocate && backingFile is not null)
        {
            throw new ArgumentException("A copy-on-write layer cannot be preallocated: its clusters would hide the backing file.", nameof(preallocate));
        }

        if (clusterSize is < 512 or > 2 * 1024 * 1024 || (clusterSize & (clusterSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(clusterSize), clusterSize, "The cluster size must be a power of two from 512 bytes to 2 MiB.");
        }

        if (backingFile is not null)
        {
            var resolved = ImageChain.ResolveBackingPath(path, backingFile);
            backingFormat ??= ImageChain.Probe(resolved) == ImageFormat.Qcow2 ? "qcow2" : "raw";
            if (size == 0)
            {
                size = ImageChain.ReadVirtualSize(resolved);
            }
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);

        // qemu counts a qcow2 disk in whole 512-byte sectors (and drops a
        // partial last one), so the size is rounded up as qemu-img create does.
        size = (size + 511) & ~511L;
        var clusterBits = int.Log2(clusterSize);
        long l2Entries = clusterSize / 8;
        var l1Size = (size + (clusterSize * l2Entries) - 1) / (clusterSize * l2Entries);
        var l1Clusters = Math.Max(1, ((l1Size * 8) + clusterSize - 1) / clusterSize);
        long refcountsPerBlock = clusterSize / 2;
        var estimatedClusters = ((size + clusterSize - 1) / clusterSize) + l1Size + l1Clusters + 16;
        var tableEntries = ((2 * estimatedClusters) + refcountsPerBlock - 1) / refcountsPerBlock + 1;
        var tableClusters = Math.Max(1, ((tableEntries * 8) + clusterSize - 1) / clusterSize);
        // Preallocated: one L2 table per L1 entry, then every data cluster.
        var l2Tables = preallocate ? l1Size : 0;
        var dataClusters = preallocate ? (size + clusterSize - 1) / clusterSize : 0;
        long blocks = 1;
        while (((1 + tableClusters + blocks + l1Clusters + l2Tables + dataClusters + refcountsPerBlock - 1) / refcountsPerBlock) > blocks)
        {
            blocks++;
        }

        if (blocks > tableClusters * clusterSize / 8)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "The disk is too large for this cluster size.");
        }

        var metadataClusters = 1 + tableClusters + blocks + l1Clusters;
        var allocatedClusters = metadataClusters + l2Tables + dataClusters;
        if (l1Size > int.MaxValue / 8 || tableClusters * clusterSize > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "The disk is too large for this cluster size.");
        }

        var header = new Qcow2Header
        {
            ClusterBits = clusterBits,
            Size = size,
            L1Size = (int)l1Size,
            L1TableOffset = (1 + tableClusters + blocks) * clusterSize,
            RefcountTableOffset = clusterSize,
            RefcountTableClusters = (int)tableClusters,
            BackingFile = backingFile,
            BackingFormat = backingFormat,
        };
        var first = new byte[clusterSize];
        header.WriteTo(first);

        var table = new byte[tableClusters * clusterSize];
        for (var b = 0; b < blocks; b++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan(b * 8), (ulong)((1 + tableClusters + b) * clusterSize));
        }

        if (blocks * clusterSize > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "The disk is too large to preallocate with this cluster size.");
        }

        var refcounts = new byte[blocks * clusterSize];
        for (long c = 0; c < allocatedClusters; c++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(refcounts.AsSpan((int)(c * 2)), 1);
        }

        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        RandomAccess.Write(handle, first, 0);
        RandomAccess.Write(handle, table, clusterSize);
        RandomAccess.Write(handle, refcounts, (1 + tableClusters) * clusterSize);
        if (preallocate)
        {
            WritePreallocatedTables(handle, header.L1TableOffset, (int)l1Size, l1Clusters, l2Entries, dataClusters, clusterSize);
            RandomAccess.SetLength(handle, allocatedClusters * clusterSize);
            if (LibC.Fallocate(handle, 0, 0, allocatedClusters * clusterSize) is var errno and not 0)
            {
                throw new IOException($"cannot reserve {allocatedClusters * clusterSize} bytes for {path} (errno {errno}; is the disk full?)");
            }
        }
        else
        {
            RandomAccess.SetLength(handle, metadataClusters * clusterSize); // the L1 table: zeroes, sparse
        }

        LibC.DataSync(handle, path);
    }

    /// <summary>The L1 table and the L2 tables of a preallocated image: guest cluster i at host cluster dataStart + i.</summary>
    private static void WritePreallocatedTables(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long l1Offset, int l1Size, long l1Clusters, long l2Entries, long dataClusters, int clusterSize)
    {
        // Refcount 1 everywhere, so every entry carries QCOW_OFLAG_COPIED (bit 63).
        const ulong copied = 1UL << 63;
        var l2Start = l1Offset + (l1Clusters * clusterSize);
        var dataStart = l2Start + ((long)l1Size * clusterSize);
        var l1 = new byte[l1Clusters * clusterSize];
        var l2 = new byte[clusterSize];
        for (var t = 0; t < l1Size; t++)
        {
            var l2Offset = l2Start + ((long)t * clusterSize);
            BinaryPrimitives.WriteUInt64BigEndian(l1.AsSpan(t * 8), (ulong)l2Offset | copied);
            Array.Clear(l2);
            for (long e = 0; e < l2Entries; e++)
            {
                var cluster = (t * l2Entries) + e;
                if (cluster >= dataClusters)
                {
                    break;
                }

                BinaryPrimitives.WriteUInt64BigEndian(l2.AsSpan((int)(e * 8)), (ulong)(dataStart + (cluster * clusterSize)) | copied);
            }

            RandomAccess.Write(handle, l2, l2Offset);
        }

        RandomAccess.Write(handle, l1, l1Offset);
    }
}
