using Streamboot.Protocols.Tftp.Files;

namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>
/// netascii mode (RFC 764 as RFC 1350 asks): LF becomes CR LF and a bare CR
/// becomes CR NUL, converted while sending. A block's start in the file is
/// only known once the block before it was made, so the reader remembers
/// where each block of the window began (and a half-sent CR LF or CR NUL),
/// enough to roll back to any block of the window.
/// </summary>
internal sealed class NetAsciiBlockReader : BlockReader
{
    private const int NoPending = -1;
    private readonly int _blockSize;
    private readonly (long SourceOffset, int Pending)[] _starts;

    public NetAsciiBlockReader(TftpFile file, int blockSize, int windowSize, int chunkSize)
        : base(file, chunkSize)
    {
        _blockSize = blockSize;
        // Blocks acked + 1 to acked + window are made; their starts and the one after must survive.
        _starts = new (long, int)[windowSize + 2];
        _starts[1 % _starts.Length] = (0, NoPending);
    }

    public override async ValueTask<int> FillAsync(long block, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var (source, pending) = _starts[block % _starts.Length];
        var written = 0;
        if (pending != NoPending)
        {
            destination.Span[written++] = (byte)pending;
            pending = NoPending;
        }

        while (written < _blockSize)
        {
            if (Cached(source).IsEmpty)
            {
                if (CachedUpToEnd(source))
                {
                    break;
                }

                await LoadAsync(source, cancellationToken).ConfigureAwait(false);
                if (Cached(source).IsEmpty)
                {
                    break;
                }
            }

            (written, source, pending) = Convert(Cached(source), destination.Span, written, source);
            if (pending != NoPending)
            {
                break;
            }
        }

        _starts[(block + 1) % _starts.Length] = (source, pending);
        return written;
    }

    private (int Written, long Source, int Pending) Convert(ReadOnlySpan<byte> input, Span<byte> output, int written, long source)
    {
        var limit = _blockSize;
        foreach (var b in input)
        {
            if (written == limit)
            {
                break;
            }

            source++;
            switch (b)
            {
                case (byte)'\n':
                    output[written++] = (byte)'\r';
                    if (written == limit)
                    {
                        return (written, source, '\n');
                    }

                    output[written++] = (byte)'\n';
                    break;
                case (byte)'\r':
                    output[written++] = (byte)'\r';
                    if (written == limit)
                    {
                        return (written, source, 0);
                    }

                    output[written++] = 0;
                    break;
                default:
                    output[written++] = b;
                    break;
            }
        }

        return (written, source, NoPending);
    }
}
