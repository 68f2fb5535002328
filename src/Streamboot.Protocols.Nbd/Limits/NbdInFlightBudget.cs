namespace Streamboot.Protocols.Nbd.Limits;

/// <summary>
/// The server-wide pool of bytes in flight (NbdServerOptions.MaxInFlightBytes)
/// that connections draw from beyond their own reserve. Taking never waits:
/// a connection that cannot take what it needs stops reading requests and
/// waits for <see cref="WaitForReturnAsync"/>, and every return wakes the
/// waiters to try again (the pool only runs dry under attack or at a
/// saturated network, where a wake-up per return is cheap enough).
/// </summary>
internal sealed class NbdInFlightBudget
{
    private readonly long _capacity;
    private readonly object _lock = new();
    private long _used;
    private TaskCompletionSource? _returned;

    public NbdInFlightBudget(long capacity) => _capacity = capacity;

    /// <summary>Bytes taken now, by all connections.</summary>
    public long Used => Interlocked.Read(ref _used);

    public bool TryTake(long bytes)
    {
        if (bytes == 0)
        {
            return true;
        }

        var used = Interlocked.Read(ref _used);
        while (used + bytes <= _capacity)
        {
            var seen = Interlocked.CompareExchange(ref _used, used + bytes, used);
            if (seen == used)
            {
                return true;
            }

            used = seen;
        }

        return false;
    }

    public void Return(long bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        Interlocked.Add(ref _used, -bytes);
        TaskCompletionSource? waiters;
        lock (_lock)
        {
            waiters = _returned;
            _returned = null;
        }

        waiters?.TrySetResult();
    }

    /// <summary>
    /// Completes at the next return. Ask before trying again (then a return
    /// between the failed try and the wait is not missed).
    /// </summary>
    public Task WaitForReturnAsync()
    {
        lock (_lock)
        {
            _returned ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _returned.Task;
        }
    }
}
