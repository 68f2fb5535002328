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
    /// (it can still grow when needed).
    /// </remarks>
    public static void Create(string path, long size, int clusterSize = DefaultClusterSize, string? backingFile = null, string? backingFormat = null)
    {
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
        long blocks = 1;
        while (((1 + tableClusters + blocks + l1Clusters + refcountsPerBlock - 1) / refcountsPerBlock) > blocks)
        {
            blocks++;
        }

        var metadataClusters = 1 + tableClusters + blocks + l1Clusters;
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

        var refcounts = new byte[blocks * clusterSize];
        for (var c = 0; c < metadataClusters; c++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(refcounts.AsSpan(c * 2), 1);
        }

        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        RandomAccess.Write(handle, first, 0);
        RandomAccess.Write(handle, table, clusterSize);
        RandomAccess.Write(handle, refcounts, (1 + tableClusters) * clusterSize);
        RandomAccess.SetLength(handle, metadataClusters * clusterSize); // the L1 table: zeroes, sparse
        LibC.DataSync(handle, path);
    }
}
