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
