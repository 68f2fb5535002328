using System.Net.Sockets;
using Streamboot.Protocols.Nbd.Native;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// One socket's waits in the <see cref="NbdPoller"/>: at most one reader and
/// one writer wait at a time (a connection has one reader and one sender).
/// Waiting arms a one-shot interest for what is awaited; an event completes
/// the waits it satisfies (a hang-up or error all of them) and re-arms for any
/// left. Arming checks readiness at once, so a byte that arrived between the
/// failed call and the wait is not missed.
/// </summary>
internal sealed class NbdPollRegistration : IDisposable
{
    private readonly NbdPoller _poller;
    private readonly Socket _socket;
    private readonly object _lock = new();
    private TaskCompletionSource? _readable;
    private TaskCompletionSource? _writable;
    private bool _disposed;

    public NbdPollRegistration(NbdPoller poller, Socket socket, ulong id)
    {
        _poller = poller;
        _socket = socket;
        Id = id;
        Fd = (int)socket.SafeHandle.DangerousGetHandle();
    }

    public ulong Id { get; }

    public int Fd { get; }

    public Socket Socket => _socket;

    /// <summary>Completes when the socket can be read (or has hung up); cancelled by <paramref name="cancellationToken"/>.</summary>
    public Task WaitReadableAsync(CancellationToken cancellationToken) => WaitAsync(write: false, cancellationToken);

    /// <summary>Completes when the socket can take more (or has failed); cancelled by <paramref name="cancellationToken"/>.</summary>
    public Task WaitWritableAsync(CancellationToken cancellationToken) => WaitAsync(write: true, cancellationToken);

    private async Task WaitAsync(bool write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Completed by the dispatcher's worker (or the pool), where the awaiting connection then runs.
        var waiter = new TaskCompletionSource();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (write)
            {
                _writable = waiter;
            }
            else
            {
                _readable = waiter;
            }

            if (!_poller.Arm(this, Interest()))
            {
                // The socket is gone (closed under us): let the caller's next call say how.
                ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetResult(), waiter, preferLocal: false);
            }
        }

        using (cancellationToken.UnsafeRegister(static s => ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetCanceled(), (TaskCompletionSource)s!, preferLocal: false), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }

    /// <summary>The poller's thread: <paramref name="events"/> happened; the one-shot interest is disarmed now.</summary>
    internal void OnEvents(uint events)
    {
        TaskCompletionSource? readable = null;
        TaskCompletionSource? writable = null;
        lock (_lock)
        {
            var failed = (events & (Epoll.Hup | Epoll.Err)) != 0;
            if (failed || (events & (Epoll.In | Epoll.RdHup)) != 0)
            {
                (readable, _readable) = (_readable, null);
            }

            if (failed || (events & Epoll.Out) != 0)
            {
                (writable, _writable) = (_writable, null);
            }

            if (!_disposed && (_readable is not null || _writable is not null))
            {
                _poller.Arm(this, Interest());
            }
        }

        if (readable is not null)
        {
            _poller.Dispatcher.Complete(readable);
        }

        if (writable is not null)
        {
            _poller.Dispatcher.Complete(writable);
        }
    }

    private uint Interest() => (_readable is not null ? Epoll.In : 0) | (_writable is not null ? Epoll.Out : 0);

    /// <summary>Stops watching (before the socket closes); waits still pending complete, and fail at their next call.</summary>
    public void Dispose()
    {
        TaskCompletionSource? readable;
        TaskCompletionSource? writable;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            (readable, _readable) = (_readable, null);
            (writable, _writable) = (_writable, null);
        }

        _poller.Unregister(this);
        foreach (var waiter in new[] { readable, writable })
        {
            if (waiter is not null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetResult(), waiter, preferLocal: false);
            }
        }
    }
}
