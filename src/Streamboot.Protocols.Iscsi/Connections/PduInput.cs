using System.Buffers;
using System.Net.Sockets;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>
/// The receiving side of a connection: one buffer that each socket read
/// fills as far as it can, so many small PDUs arrive with one system call;
/// a data segment larger than what is buffered is received straight into
/// its destination (a write's burst buffer) instead of through this buffer.
/// </summary>
internal sealed class PduInput : IDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer;
    private int _start;
    private int _end;

    public PduInput(Socket socket, int size)
    {
        _socket = socket;
        _buffer = ArrayPool<byte>.Shared.Rent(size);
    }

    public int Buffered => _end - _start;

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Bytes received in all (for counters).</summary>
    public long BytesReceived { get; private set; }

    /// <summary>Ensures at least <paramref name="count"/> bytes are buffered (count at most the buffer's size); false at the end of the stream.</summary>
    public async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        if (_end - _start >= count)
        {
            return true;
        }

        if (_buffer.Length - _start < count)
        {
            // Move what is left to the front so the rest fits behind it.
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        while (_end - _start < count)
        {
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            _end += read;
            BytesReceived += read;
        }

        return true;
    }

    public void Consume(int count)
    {
        _start += count;
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    /// <summary>Copies the next <paramref name="into"/>.Length bytes out, from the buffer first and then from the socket.</summary>
    public async ValueTask ReadAsync(Memory<byte> into, CancellationToken cancellationToken)
    {
        var fromBuffer = Math.Min(into.Length, _end - _start);
        _buffer.AsSpan(_start, fromBuffer).CopyTo(into.Span);
        Consume(fromBuffer);
        into = into[fromBuffer..];
        while (into.Length > 0)
        {
            if (into.Length < _buffer.Length / 4)
            {
                // A small remainder: one read into the buffer may bring the next PDUs with it.
                if (!await FillAsync(into.Length, cancellationToken).ConfigureAwait(false))
                {
                    throw new EndOfStreamException();
                }

                _buffer.AsSpan(_start, into.Length).CopyTo(into.Span);
                Consume(into.Length);
                return;
            }

            var read = await _socket.ReceiveAsync(into, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new EndOfStreamException();
            }

            BytesReceived += read;
            into = into[read..];
        }
    }

    /// <summary>Reads and drops <paramref name="count"/> bytes (a data segment nobody takes).</summary>
    public async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_end == _start && !await FillAsync(1, cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException();
            }

            var take = (int)Math.Min(count, _end - _start);
            Consume(take);
            count -= take;
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
}
