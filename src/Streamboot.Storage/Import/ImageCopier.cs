using System.Buffers;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Import;

/// <summary>
/// Copies one block device into another (import, capture, merging a chain
/// into a new base), skipping what reads as zeroes when the destination is
/// fresh, so a 40 GiB disk with 6 GiB of data costs 6 GiB of writes.
/// </summary>
public static class ImageCopier
{
    private const int ChunkSize = 1 << 20;

    /// <summary>
    /// Copies all of <paramref name="source"/> to the start of
    /// <paramref name="destination"/> and flushes it. Progress reports bytes
    /// of the source done (skipped holes count as done), ending at the
    /// source's size. <paramref name="destinationReadsZero"/> says the
    /// destination is new and reads as zeroes (a new qcow2 without backing
    /// file, a new sparse raw file); otherwise zero ranges are written as zeroes.
    /// </summary>
    public static async Task CopyAsync(
        IBlockDevice source,
        IBlockDevice destination,
        IProgress<long>? progress = null,
        bool destinationReadsZero = true,
        CancellationToken cancellationToken = default)
    {
        if (destination.Size < source.Size)
        {
            throw new ArgumentException($"The destination ({destination.Size} bytes) is smaller than the source ({source.Size} bytes).", nameof(destination));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var extents = new BlockExtent[64];
        try
        {
            long offset = 0;
            while (offset < source.Size)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = await source.GetExtentsAsync(offset, Math.Min(source.Size - offset, 1L << 30), extents, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < n; i++)
                {
                    var e = extents[i];
                    if ((e.Flags & ExtentFlags.Zero) != 0)
                    {
                        if (!destinationReadsZero)
                        {
                            await destination.WriteZeroesAsync(e.Offset, e.Length, WriteFlags.MayTrim, cancellationToken).ConfigureAwait(false);
                        }
                    }
                    else
                    {
                        await CopyDataAsync(source, destination, e, buffer, destinationReadsZero, progress, cancellationToken).ConfigureAwait(false);
                    }

                    progress?.Report(e.End);
                }

                offset = extents[n - 1].End;
            }

            await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Makes <paramref name="destination"/> read like <paramref name="source"/>
    /// by writing only what differs, block by block. The destination is a new
    /// copy-on-write version over the previous one (a capture into a new vDisk
    /// version): blocks the source shares with it stay unallocated in the
    /// overlay, so the version holds just the changes. Progress is bytes of the
    /// source done; the result is the number of bytes written.
    /// </summary>
    public static async Task<long> CopyChangesAsync(
        IBlockDevice source,
        IBlockDevice destination,
        int blockSize = 64 * 1024,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (destination.Size != source.Size)
        {
            throw new ArgumentException($"The destination ({destination.Size} bytes) and the source ({source.Size} bytes) differ in size.", nameof(destination));
        }

        var mine = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var theirs = ArrayPool<byte>.Shared.Rent(ChunkSize);
        long written = 0;
        try
        {
            for (long at = 0; at < source.Size;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = (int)Math.Min(ChunkSize, source.Size - at);
                await source.ReadAsync(at, mine.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                await destination.ReadAsync(at, theirs.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                for (var block = 0; block < n; block += blockSize)
                {
                    var length = Math.Min(blockSize, n - block);
                    var wanted = mine.AsMemory(block, length);
                    if (wanted.Span.SequenceEqual(theirs.AsSpan(block, length)))
                    {
                        continue;
                    }

                    // Zeroes become a zero block, not written data; never a trim,
                    // which in an overlay could show the older version through.
                    if (!wanted.Span.ContainsAnyExcept((byte)0))
                    {
                        await destination.WriteZeroesAsync(at + block, length, WriteFlags.None, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await destination.WriteAsync(at + block, wanted, WriteFlags.None, cancellationToken).ConfigureAwait(false);
                    }

                    written += length;
                }

                at += n;
                progress?.Report(at);
            }

            await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
            return written;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(mine);
            ArrayPool<byte>.Shared.Return(theirs);
        }
    }

    private static async Task CopyDataAsync(IBlockDevice source, IBlockDevice destination, BlockExtent extent, byte[] buffer, bool skipZeroes, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        for (var at = extent.Offset; at < extent.End;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = (int)Math.Min(ChunkSize, extent.End - at);
            var chunk = buffer.AsMemory(0, n);
            await source.ReadAsync(at, chunk, cancellationToken).ConfigureAwait(false);

            // Data extents of raw files hold plenty of zeroes (file systems
            // allocate whole blocks): keep the destination sparse like qemu-img convert.
            if (!(skipZeroes && !chunk.Span.ContainsAnyExcept((byte)0)))
            {
                await destination.WriteAsync(at, chunk, WriteFlags.None, cancellationToken).ConfigureAwait(false);
            }

            at += n;
            progress?.Report(at);
        }
    }
}
