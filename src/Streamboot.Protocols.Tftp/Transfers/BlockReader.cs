using System.Buffers;
using Streamboot.Protocols.Tftp.Files;

namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>
/// Produces the payload of DATA block n (n from 1, not wrapped) of one transfer.
/// Any block of the current window can be asked for again (RFC 7440 rolls
/// back to the last acknowledged block), so reading is positional. The file
/// is read a pooled chunk at a time, not a block at a time.
/// </summary>
internal abstract class BlockReader : IDisposable
{
    private readonly TftpFile _file;
    private byte[]? _chunk;
    private long _chunkOffset = -1;
    private int _chunkLength;

    protected BlockReader(TftpFile file, int chunkSize)
    {
        _file = file;
        _chunk = ArrayPool<byte>.Shared.Rent(chunkSize);
        ChunkSize = chunkSize;
    }

    protected int ChunkSize { get; }

    public static BlockReader Create(TftpFile file, TftpMode mode, int blockSize, int windowSize, int readChunkSize) => mode switch
    {
        // Whole blocks per chunk, so a block never straddles two reads.
        TftpMode.Octet => new OctetBlockReader(file, blockSize, Math.Max(blockSize, readChunkSize / blockSize * blockSize)),
        _ => new NetAsciiBlockReader(file, blockSize, windowSize, Math.Max(blockSize, readChunkSize)),
    };

    /// <summary>Copies block <paramref name="block"/>'s payload into <paramref name="destination"/> (blksize long); fewer bytes mean the last block.</summary>
    public abstract ValueTask<int> FillAsync(long block, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>The cached bytes from <paramref name="offset"/> to the end of the chunk, or empty when the chunk does not hold it.</summary>
    protected ReadOnlySpan<byte> Cached(long offset) =>
        _chunkOffset >= 0 && offset >= _chunkOffset && offset < _chunkOffset + _chunkLength
            ? _chunk.AsSpan((int)(offset - _chunkOffset), (int)(_chunkOffset + _chunkLength - offset))
            : default;

    /// <summary>True when the cached chunk ends at the end of the file (it came back short).</summary>
    protected bool CachedUpToEnd(long offset) => _chunkOffset >= 0 && offset >= _chunkOffset && _chunkLength < ChunkSize && offset <= _chunkOffset + _chunkLength;

    /// <summary>Reads a chunk starting at <paramref name="offset"/>; fills it unless the file ends first.</summary>
    protected async ValueTask LoadAsync(long offset, CancellationToken cancellationToken)
    {
        var chunk = _chunk ?? throw new ObjectDisposedException(nameof(BlockReader));
        _chunkOffset = -1;
        var length = 0;
        while (length < ChunkSize)
        {
            var read = await _file.ReadAsync(offset + length, chunk.AsMemory(length, ChunkSize - length), cancellationToken).ConfigureAwait(false);
            if (read <= 0)
            {
                break;
            }

            length += read;
        }

        _chunkOffset = offset;
        _chunkLength = length;
    }

    public void Dispose()
    {
        if (_chunk is { } chunk)
        {
            _chunk = null;
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}
