using System.Buffers;
using System.Security.Cryptography;
using Streamboot.Storage.Native;

namespace Streamboot.Storage.Integrity;

/// <summary>
/// Writes a file that arrives as a stream (a version copied from another
/// server) so that its final name only ever holds the expected bytes: the
/// bytes go to a temporary file beside it (<c>.NAME.partial-RANDOM</c>),
/// hashed as they are written; only when the length and the SHA-256 match
/// is the file flushed to disk and renamed over the final name (and the
/// folder flushed, so the rename survives a crash). Anything else deletes
/// the temporary file. All-zero blocks are skipped rather than written, so
/// a sparse raw image stays sparse. A crash leaves at most a temporary file,
/// which <see cref="RemoveLeftovers"/> deletes at the next start.
/// </summary>
public static class VerifiedFileWriter
{
    private const string PartialMarker = ".partial-";
    private const int BlockSize = 1 << 20;

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="finalPath"/> if
    /// and only if it is exactly <paramref name="expected"/>; reads at most
    /// one byte more than the expected length. <paramref name="pace"/>, when
    /// given, is awaited with each block's size after it arrives (a bandwidth limit).
    /// </summary>
    public static async Task<CopyOutcome> WriteAsync(
        Stream source,
        string finalPath,
        ContentDigest expected,
        Func<int, CancellationToken, ValueTask>? pace = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(finalPath)) ?? throw new ArgumentException($"{finalPath} has no folder", nameof(finalPath));
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(finalPath)}{PartialMarker}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        var kept = false;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long written = 0;
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.None))
            {
                while (true)
                {
                    var filled = await FillAsync(source, buffer, BlockSize, cancellationToken);
                    if (filled == 0)
                    {
                        break;
                    }

                    if (written + filled > expected.Length)
                    {
                        return CopyOutcome.TooLong;
                    }

                    hash.AppendData(buffer, 0, filled);
                    if (!IsZero(buffer.AsSpan(0, filled)))
                    {
                        await RandomAccess.WriteAsync(handle, buffer.AsMemory(0, filled), written, cancellationToken);
                    }

                    written += filled;
                    progress?.Report(written);
                    if (pace is not null)
                    {
                        await pace(filled, cancellationToken);
                    }
                }

                if (written != expected.Length)
                {
                    return CopyOutcome.Truncated;
                }

                if (!string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), expected.Sha256, StringComparison.Ordinal))
                {
                    return CopyOutcome.HashMismatch;
                }

                // Skipped zero blocks at the end still count: the length is the file's.
                RandomAccess.SetLength(handle, written);
                LibC.DataSync(handle, temp);
            }

            File.Move(temp, finalPath, overwrite: true);
            kept = true;
            LibC.FlushFolder(folder);
            return CopyOutcome.Verified;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!kept)
            {
                try
                {
                    File.Delete(temp);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }

    /// <summary>Deletes the temporary files a crashed copy left in <paramref name="folder"/> (not its subfolders); returns how many.</summary>
    public static int RemoveLeftovers(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        var removed = 0;
        foreach (var file in Directory.EnumerateFiles(folder, "." + "*" + PartialMarker + "*"))
        {
            try
            {
                File.Delete(file);
                removed++;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return removed;
    }

    /// <summary>Reads until the block is full or the stream ends (network streams hand out what arrived).</summary>
    private static async Task<int> FillAsync(Stream source, byte[] buffer, int size, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < size)
        {
            var n = await source.ReadAsync(buffer.AsMemory(filled, size - filled), cancellationToken);
            if (n == 0)
            {
                break;
            }

            filled += n;
        }

        return filled;
    }

    private static bool IsZero(ReadOnlySpan<byte> bytes) => !bytes.ContainsAnyExcept((byte)0);
}

/// <summary>How a verified copy ended: only <see cref="Verified"/> put a file at the final name.</summary>
public enum CopyOutcome
{
    Verified,

    /// <summary>The source sent more bytes than the version has.</summary>
    TooLong,

    /// <summary>The source ended before the version's length.</summary>
    Truncated,

    /// <summary>The length was right, the bytes were not.</summary>
    HashMismatch,
}
