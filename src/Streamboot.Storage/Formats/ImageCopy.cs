using System.Buffers;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Formats;

/// <summary>
/// Copies one block device into another, extent by extent: holes and zero
/// ranges of the source are not read, and the destination gets nothing
/// written there, so a sparse chain stays sparse when flattened (import,
/// merge). Progress is reported in bytes of the virtual disk covered.
/// </summary>
public static class ImageCopy
{
    private const int ChunkSize = 2 * 1024 * 1024;
    private const int MaxExtents = 64;

    /// <summary>
    /// Copies all of <paramref name="source"/> to <paramref name="destination"/>,
    /// which must be at least as large and read as zeroes where not written
    /// (a new image). Flushes the destination at the end.
    /// </summary>
    public static async Task CopyAsync(IBlockDevice source, IBlockDevice destination, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        if (destination.Size < source.Size)
        {
            throw new ArgumentException($"destination ({destination.Size} bytes) is smaller than the source ({source.Size} bytes)", nameof(destination));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var extents = new BlockExtent[MaxExtents];
        try
        {
            var canExtents = source.Capabilities.HasFlag(BlockDeviceCapabilities.CanExtents);
            long offset = 0;
            while (offset < source.Size)
            {
                var window = Math.Min(ChunkSize, source.Size - offset);
                var count = canExtents ? await source.GetExtentsAsync(offset, window, extents, cancellationToken) : 0;
                if (count == 0)
                {
                    extents[0] = new BlockExtent(offset, window, ExtentFlags.Data);
                    count = 1;
                }

                for (var i = 0; i < count && offset < source.Size; i++)
                {
                    var extent = extents[i];
                    var start = Math.Max(extent.Offset, offset);
                    var end = Math.Min(extent.End, offset + window);
                    if (end <= start)
                    {
                        continue;
                    }

                    if ((extent.Flags & (ExtentFlags.Zero | ExtentFlags.Hole)) == 0)
                    {
                        for (var at = start; at < end; at += ChunkSize)
                        {
                            var length = (int)Math.Min(ChunkSize, end - at);
                            var chunk = buffer.AsMemory(0, length);
                            await source.ReadAsync(at, chunk, cancellationToken);
                            if (!IsZero(chunk.Span))
                            {
                                await destination.WriteAsync(at, chunk, WriteFlags.None, cancellationToken);
                            }
                        }
                    }

                    offset = end;
                    progress?.Report(offset);
                }
            }

            await destination.FlushAsync(cancellationToken);
            progress?.Report(source.Size);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsZero(ReadOnlySpan<byte> data) => !data.ContainsAnyExcept((byte)0);
}
