using System.Buffers;
using System.Collections.Concurrent;

namespace Streamboot.Protocols.Nbd.Connections;

// Big replies from the shared workers. A worker that finds the connection
// already sending does not wait for the reply lock: it leaves its reply in the
// outbox and goes on with other connections' work, and whoever is sending
// writes it too before letting go. So a client that drains its socket slowly
// holds at most one worker, not all of them (head-of-line blocking across
// connections was what made four nbdcopy connections slower than one).
internal sealed partial class NbdConnection
{
    private readonly ConcurrentQueue<(byte[] Buffer, int Length)> _outbox = new();
    private int _sending;

    /// <summary>Queues a finished reply; the connection owns <paramref name="buffer"/> from here and returns it to the pool once sent.</summary>
    private void Post(byte[] buffer, int length)
    {
        _outbox.Enqueue((buffer, length));
        // Re-checked after letting go, so a reply queued meanwhile is never stranded.
        while (!_outbox.IsEmpty && Interlocked.CompareExchange(ref _sending, 1, 0) == 0)
        {
            try
            {
                _writeLock.Wait();
                try
                {
                    while (_outbox.TryDequeue(out var reply))
                    {
                        try
                        {
                            _stream.Write(reply.Buffer, 0, reply.Length);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(reply.Buffer);
                        }
                    }
                }
                finally
                {
                    _writeLock.Release();
                }
            }
            finally
            {
                Volatile.Write(ref _sending, 0);
            }
        }
    }

    /// <summary>Replies left behind by a broken connection go back to the pool.</summary>
    private void ClearOutbox()
    {
        while (_outbox.TryDequeue(out var reply))
        {
            ArrayPool<byte>.Shared.Return(reply.Buffer);
        }
    }
}
