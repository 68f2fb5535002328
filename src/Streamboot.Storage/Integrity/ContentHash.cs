using System.Buffers;
using System.Security.Cryptography;

namespace Streamboot.Storage.Integrity;

/// <summary>
/// SHA-256 of a whole image file, streamed: two pooled 4 MiB buffers, the
/// next one read while the last one is hashed (the read runs on the thread
/// pool, the hash on the caller's thread; SHA-256 with the CPU's SHA
/// extensions and a page-cache read overlap instead of adding up). Nothing
/// holds more than those two buffers, whatever the file's size.
/// </summary>
public static class ContentHash
{
    /// <summary>Bytes per read: large enough that a read costs one syscall per several MB.</summary>
    public const int BufferSize = 4 << 20;

    /// <summary>
    /// The digest of the file at <paramref name="path"/> as it is now.
    /// <paramref name="pace"/>, when given, is awaited with each block's size
    /// before it is read (a bandwidth limit for background checks).
    /// </summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static async Task<ContentDigest> OfFileAsync(string path, Func<int, CancellationToken, ValueTask>? pace = null, CancellationToken cancellationToken = default)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var current = ArrayPool<byte>.Shared.Rent(BufferSize);
        var next = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long offset = 0;
            if (pace is not null)
            {
                await pace(BufferSize, cancellationToken);
            }

            var read = await RandomAccess.ReadAsync(handle, current.AsMemory(0, BufferSize), offset, cancellationToken);
            while (read > 0)
            {
                offset += read;
                if (pace is not null)
                {
                    await pace(BufferSize, cancellationToken);
                }

                var pending = RandomAccess.ReadAsync(handle, next.AsMemory(0, BufferSize), offset, cancellationToken);
                hash.AppendData(current, 0, read);
                read = await pending;
                (current, next) = (next, current);
            }

            return new ContentDigest(Convert.ToHexStringLower(hash.GetHashAndReset()), offset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }
    }
}
