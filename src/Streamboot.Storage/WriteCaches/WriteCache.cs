using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats.Qcow2;

namespace Streamboot.Storage.WriteCaches;

/// <summary>
/// The write-cache places of a standard (shared, read-only) image, one per
/// session, each a layer over the shared read-only chain (DESIGN.md
/// "Caching and writes").
/// </summary>
public static class WriteCache
{
    public const int DefaultBlockSize = 4096;

    /// <summary>Cache on the server's disk: a sparse block file, deleted when the session ends.</summary>
    public static OverlayWriteCache OnServerDisk(IBlockDevice lower, string cacheFile, long maxBytes = long.MaxValue, int blockSize = DefaultBlockSize) =>
        new(lower, new FileOverlayStore(cacheFile, blockSize, maxBytes), blockSize);

    /// <summary>Cache in server RAM up to <paramref name="ramBytes"/>, then on disk (or full, without an overflow file).</summary>
    public static OverlayWriteCache InRam(IBlockDevice lower, long ramBytes, string? overflowFile = null, long overflowMaxBytes = long.MaxValue, int blockSize = DefaultBlockSize) =>
        new(lower, new RamOverlayStore(blockSize, ramBytes, overflowFile is null ? null : new FileOverlayStore(overflowFile, blockSize, overflowMaxBytes)), blockSize);

    /// <summary>Cache on the client's disk: the server serves reads only.</summary>
    public static ReadOnlyLayer OnClientDisk(IBlockDevice lower) => new(lower);

    /// <summary>
    /// A qcow2 file as the write cache (what a persistent per-client cache or
    /// a new version in maintenance wants: qemu-img can inspect, commit or
    /// rebase it). The file records no backing name; it reads through to
    /// <paramref name="lower"/>.
    /// </summary>
    public static Qcow2Image AsQcow2(IBlockDevice lower, string cacheFile, int clusterSize = Qcow2Image.DefaultClusterSize)
    {
        Qcow2Image.Create(cacheFile, lower.Size, clusterSize);
        return Qcow2Image.OpenOver(cacheFile, lower);
    }
}
