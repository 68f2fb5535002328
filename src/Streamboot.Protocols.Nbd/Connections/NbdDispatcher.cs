namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// A few threads that run what the <see cref="NbdPoller"/> wakes (a
/// connection whose socket became readable or writable), each asleep on a
/// monitor until it is handed exactly one piece of work. When none is idle
/// (all busy, say in a read from a slow disk), work goes to the .NET thread
/// pool instead, which grows when its threads block: a blocked device never
/// stalls the other connections.
/// </summary>
/// <remarks>
/// Why not the thread pool for everything: each item it runs wakes another
/// worker in case more work follows (PortableThreadPool's
/// MaybeAddWorkingWorker), which then finds nothing and sleeps again. Under
/// fio's 4 KiB random reads that churn was most of the server's futex calls,
/// and context switches a third of its CPU (perf on 2 vCPUs).
/// </remarks>
internal sealed class NbdDispatcher : IDisposable
{
    private readonly object _lock = new();
    private readonly Queue<TaskCompletionSource> _queue = new();
    private int _idle;
    private bool _stopping;

    public NbdDispatcher(int threads)
    {
        for (var i = 0; i < threads; i++)
        {
            var thread = new Thread(Run) { IsBackground = true, Name = $"nbd worker {i}" };
            thread.UnsafeStart();
        }
    }

    /// <summary>
    /// Completes <paramref name="waiter"/> (made without RunContinuationsAsynchronously)
    /// on an idle worker, so what awaited it runs there; on the thread pool when none is idle.
    /// </summary>
    public void Complete(TaskCompletionSource waiter)
    {
        lock (_lock)
        {
            if (!_stopping && _idle > _queue.Count)
            {
                _queue.Enqueue(waiter);
                Monitor.Pulse(_lock);
                return;
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetResult(), waiter, preferLocal: false);
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
            TaskCompletionSource waiter;
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

                waiter = _queue.Dequeue();
            }

            // The connection runs here until it waits again.
            waiter.TrySetResult();
        }
    }
}
