using System.Buffers;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// The receive side of a connection: one pooled buffer, so a burst of
/// pipelined 28-byte request headers costs one read system call rather than
/// one each, while large WRITE payloads are read straight into their own
/// buffer past what is already buffered. Only the connection's reader uses it.
/// </summary>
internal sealed class NbdInput : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly Stream _stream;
    private readonly bool _blocking;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;

    // blocking: read with blocking calls (the connection has a thread of its own):
    // a request then runs on the thread the data woke, with no hop through the
    // socket engine and the thread pool, which is what 4 KiB random reads pay for.
    public NbdInput(Stream stream, bool blocking)
    {
        _stream = stream;
        _blocking = blocking;
    }

    public int Buffered => _end - _start;

    /// <summary>
    /// Makes at least <paramref name="count"/> bytes available through <see cref="Peek"/>.
    /// False when the stream ended before any byte of them; an end in the middle throws.
    /// </summary>
    public ValueTask<bool> EnsureAsync(int count, CancellationToken cancellationToken)
    {
        return _end - _start >= count ? new ValueTask<bool>(true) : FillAsync(count, cancellationToken);
    }

    public ReadOnlySpan<byte> Peek(int count) => _buffer.AsSpan(_start, count);

    public void Advance(int count) => _start += count;

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes (EndOfStreamException when the stream ends first).</summary>
    public async ValueTask ReadExactlyAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        var fromBuffer = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, fromBuffer).CopyTo(destination.Span);
        _start += fromBuffer;
        destination = destination[fromBuffer..];
        if (destination.Length >= BufferSize / 2)
        {
            if (_blocking)
            {
                _stream.ReadExactly(destination.Span);
            }
            else
            {
                await _stream.ReadExactlyAsync(destination, cancellationToken).ConfigureAwait(false);
            }
        }
        else if (!destination.IsEmpty)
        {
            if (!await EnsureAsync(destination.Length, cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException();
            }

            Peek(destination.Length).CopyTo(destination.Span);
            Advance(destination.Length);
        }
    }

    /// <summary>Reads and drops <paramref name="count"/> bytes (an oversized option or write) without holding them.</summary>
    public async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_start == _end && !await EnsureAsync(1, cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException();
            }

            var n = (int)Math.Min(count, _end - _start);
            _start += n;
            count -= n;
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        while (_end < count)
        {
            var n = _blocking
                ? _stream.Read(_buffer.AsSpan(_end))
                : await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (_end == 0)
                {
                    return false;
                }

                throw new EndOfStreamException($"the connection closed after {_end} of {count} bytes");
            }

            _end += n;
        }

        return true;
    }
}
