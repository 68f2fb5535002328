using System.Collections.Concurrent;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// A few dedicated threads, shared by the server's thread-per-connection
/// connections, that run big reads while the connection's own thread goes on
/// reading requests: pread and send of one request then overlap with the next
/// (nbdkit's worker threads, but a fixed number for the whole server). Not the
/// .NET thread pool: these threads block in send, which would starve it.
/// </summary>
internal sealed class NbdWorkers : IDisposable
{
    private readonly BlockingCollection<IThreadPoolWorkItem> _queue = new(new ConcurrentQueue<IThreadPoolWorkItem>());

    public NbdWorkers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var thread = new Thread(Run) { IsBackground = true, Name = $"nbd worker {i}" };
            thread.UnsafeStart();
        }
    }

    public void Queue(IThreadPoolWorkItem item) => _queue.Add(item);

    public void Dispose() => _queue.CompleteAdding();

    private void Run()
    {
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            item.Execute();
        }
    }
}
