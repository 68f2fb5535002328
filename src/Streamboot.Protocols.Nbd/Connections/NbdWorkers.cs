namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// A few dedicated threads, shared by the server's thread-per-connection
/// connections, that run big reads while the connection's own thread goes on
/// reading requests: pread and send of one request then overlap with the next
/// (nbdkit's worker threads, but a fixed number for the whole server). Not the
/// .NET thread pool: these threads block in send, which would starve it.
/// </summary>
/// <remarks>
/// An idle worker sleeps on a monitor and is woken only when work arrives.
/// BlockingCollection's semaphore spins with sched_yield before it sleeps:
/// profiled under nbdcopy on two cores, idle workers yielding took 13 % of
/// the server's CPU from the threads doing the copying.
/// </remarks>
internal sealed class NbdWorkers : IDisposable
{
    private readonly Queue<IThreadPoolWorkItem> _queue = new();
    private readonly object _lock = new();
    private int _idle;
    private bool _stopping;

    public NbdWorkers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var thread = new Thread(Run) { IsBackground = true, Name = $"nbd worker {i}" };
            thread.UnsafeStart();
        }
    }

    public void Queue(IThreadPoolWorkItem item)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _queue.Enqueue(item);
            if (_idle > 0)
            {
                Monitor.Pulse(_lock);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
    }

    private void Run()
    {
        while (true)
        {
            IThreadPoolWorkItem item;
            lock (_lock)
            {
                while (_queue.Count == 0)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    _idle++;
                    Monitor.Wait(_lock);
                    _idle--;
                }

                item = _queue.Dequeue();
            }

            item.Execute();
        }
    }
}
