using System.Buffers;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// The receive side of a connection: one pooled buffer, so a burst of
/// pipelined 28-byte request headers costs one read rather than one each,
/// while large WRITE payloads are read straight into their own buffer past
/// what is already buffered. Only the connection's reader uses it. The
/// stream changes once if the client starts TLS.
/// </summary>
internal sealed class NbdInput : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private Stream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;

    public NbdInput(Stream stream) => _stream = stream;

    public int Buffered => _end - _start;

    /// <summary>Reads from <paramref name="stream"/> from now on (after STARTTLS; nothing may be buffered).</summary>
    public void SwitchTo(Stream stream)
    {
        if (Buffered != 0)
        {
            throw new InvalidOperationException("bytes of the old stream are still buffered");
        }

        _stream = stream;
    }

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
            await _stream.ReadExactlyAsync(destination, cancellationToken).ConfigureAwait(false);
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
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
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
