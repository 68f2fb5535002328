using System.Buffers;

namespace Streamboot.Protocols.Nbd.Connections;

// Reply coalescing on a connection with its own thread. A client that keeps
// many requests in flight sends them in bursts; the reader then finds several
// headers already buffered and runs them one after the other. Their small
// replies are gathered in one buffer and written with one system call just
// before the reader would block for more input (or when the buffer fills), so
// a burst of 16 4-KiB reads costs one send instead of 16. Nothing waits on a
// timer: a client that sends one request at a time still gets each reply at once.
internal sealed partial class NbdConnection
{
    private const int BatchSize = 128 * 1024;
    private const int MaxBatchedReply = 32 * 1024 + 64;
    private byte[]? _batch;
    private int _batchLength;
    private int _readerThread = -1;

    /// <summary>
    /// True when the caller runs synchronously inside the reader loop of a
    /// thread-per-connection connection (the only code that touches the batch).
    /// </summary>
    private bool CanBatch(int length) =>
        _batch is not null && length <= MaxBatchedReply && Environment.CurrentManagedThreadId == _readerThread;

    private void StartBatching()
    {
        if (_blocking)
        {
            _readerThread = Environment.CurrentManagedThreadId;
            _batch = ArrayPool<byte>.Shared.Rent(BatchSize);
        }
    }

    /// <summary>Room for one reply in the batch (flushing first when it is full).</summary>
    private Span<byte> BatchSpan(int length)
    {
        if (_batchLength + length > _batch!.Length)
        {
            FlushBatch();
        }

        var span = _batch.AsSpan(_batchLength, length);
        _batchLength += length;
        return span;
    }

    /// <summary>Writes the gathered replies, under the lock that keeps replies whole.</summary>
    private void FlushBatch()
    {
        if (_batchLength == 0 || _batch is null)
        {
            return;
        }

        _writeLock.Wait();
        try
        {
            _stream.Write(_batch, 0, _batchLength);
        }
        finally
        {
            _batchLength = 0;
            _writeLock.Release();
        }
    }

    private void StopBatching()
    {
        _readerThread = -1;
        if (_batch is { } batch)
        {
            _batch = null;
            ArrayPool<byte>.Shared.Return(batch);
        }
    }
}
