using System.Threading.Tasks.Sources;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// One direction's wait on a socket (readable or writable), reused for every
/// wait of its connection: a client that sends a request and waits for its
/// reply makes the server wait once per request, and a fresh
/// <see cref="TaskCompletionSource"/>, its task and the awaiting async
/// method's box were most of what a request allocated.
/// </summary>
/// <remarks>
/// A wait is armed (<see cref="Arm"/>), then completed exactly once: by an
/// event (<see cref="TrySetResult"/>, on a dispatcher worker where the awaiter
/// then runs inline, as the task's continuation did), by its cancellation
/// token, or by the registration's disposal. <c>_pending</c> decides which:
/// the first to take it completes the wait, the others do nothing. A stale
/// completer (an event whose wait was cancelled meanwhile) can at worst wake
/// the next wait early; every caller tries its socket call again after a wake
/// and waits again on EAGAIN, so that costs one system call.
/// </remarks>
internal sealed class NbdSocketWaiter : IValueTaskSource, IThreadPoolWorkItem
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _cancellation;
    private int _pending;

    /// <summary>Starts a wait; the caller then registers it (under the registration's lock) and awaits <see cref="Wait"/>.</summary>
    public void Arm()
    {
        _core.Reset();
        Volatile.Write(ref _pending, 1);
    }

    /// <summary>The armed wait, cancelled through <paramref name="cancellationToken"/>.</summary>
    public ValueTask Wait(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(static (s, token) => ThreadPool.UnsafeQueueUserWorkItem(static w => w.Waiter.TryCancel(w.Token), (Waiter: (NbdSocketWaiter)s!, Token: token), preferLocal: false), this);
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>Completes the wait if it is still pending; the awaiter runs on this thread.</summary>
    public void TrySetResult()
    {
        if (Interlocked.Exchange(ref _pending, 0) == 1)
        {
            _core.SetResult(true);
        }
    }

    private void TryCancel(CancellationToken token)
    {
        if (Interlocked.Exchange(ref _pending, 0) == 1)
        {
            _core.SetException(new OperationCanceledException(token));
        }
    }

    /// <summary>Run by the thread pool when no dispatcher worker is idle.</summary>
    void IThreadPoolWorkItem.Execute() => TrySetResult();

    void IValueTaskSource.GetResult(short token)
    {
        // The callback only queues the cancellation, so this never waits long.
        _cancellation.Dispose();
        _cancellation = default;
        _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
