using Streamboot.Protocols.Tftp.Files;

namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>
/// octet mode: block n is the file's bytes from (n - 1) x blksize, up to the
/// length the file had when it was opened (what tsize announced and where the
/// transfer's last block was placed), even if it grows meanwhile.
/// </summary>
internal sealed class OctetBlockReader(TftpFile file, int blockSize, int chunkSize) : BlockReader(file, chunkSize)
{
    private readonly long _length = file.Length;

    public override ValueTask<int> FillAsync(long block, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var offset = (block - 1) * blockSize;
        var cached = Cached(offset);
        if (cached.Length >= blockSize || CachedUpToEnd(offset))
        {
            // The common case: a copy out of the chunk, no await.
            var length = Wanted(offset, cached.Length);
            cached[..length].CopyTo(destination.Span);
            return ValueTask.FromResult(length);
        }

        return LoadAndFillAsync(offset, destination, cancellationToken);
    }

    private async ValueTask<int> LoadAndFillAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        await LoadAsync(offset, cancellationToken).ConfigureAwait(false);
        var cached = Cached(offset);
        var length = Wanted(offset, cached.Length);
        cached[..length].CopyTo(destination.Span);
        return length;
    }

    private int Wanted(long offset, int cached) => (int)Math.Clamp(Math.Min(cached, _length - offset), 0, blockSize);
}
