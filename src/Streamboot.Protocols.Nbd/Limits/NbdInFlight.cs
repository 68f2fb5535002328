using System.Diagnostics;

namespace Streamboot.Protocols.Nbd.Limits;

/// <summary>
/// What one connection has in flight: requests started and not yet replied
/// to, and their bytes (a READ's reply until it has left, a WRITE's payload
/// until it is written). A request is let in only while the connection stays
/// under its request and byte limits and the server-wide pool
/// (<see cref="NbdInFlightBudget"/>) has room for whatever goes past the
/// connection's reserve; otherwise the connection's reader waits, which is
/// the backpressure: the client's next requests stay in its socket.
/// Only the reader enters; any request's completion exits.
/// </summary>
/// <remarks>
/// A waiting reader is woken when half the room is free again, not at every
/// exit: woken at each one, it would read one request, find the limit again
/// and wait again. It is woken on the exiting thread itself (the sender that
/// made the room), which then reads on as the reader until it must wait
/// again: measured under nbdcopy, a hand-over to the pool per wake-up cost
/// more than all the per-request work.
/// </remarks>
internal sealed class NbdInFlight
{
    private readonly object _lock = new();
    private readonly int _maxRequests;
    private readonly long _maxBytes;
    private readonly long _reserved;
    private readonly NbdInFlightBudget _budget;
    private int _requests;
    private long _bytes;
    private long _fromBudget; // always max(0, _bytes - _reserved)
    private long _lastActivity = Stopwatch.GetTimestamp();
    private TaskCompletionSource? _readerWaiter;
    private TaskCompletionSource? _emptyWaiter;

    public NbdInFlight(NbdServerOptions options, NbdInFlightBudget budget)
    {
        _maxRequests = options.MaxRequestsInFlight;
        _maxBytes = options.MaxInFlightBytesPerConnection;
        _reserved = options.ReservedInFlightBytesPerConnection;
        _budget = budget;
    }

    public int Requests => Volatile.Read(ref _requests);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>True when nothing is in flight and nothing came or went for <paramref name="timeout"/>.</summary>
    public bool IsIdle(TimeSpan timeout) =>
        Requests == 0 && Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastActivity)) >= timeout;

    /// <summary>True when requests are in flight and none came or went for <paramref name="timeout"/> (their replies are not being taken).</summary>
    public bool IsStalled(TimeSpan timeout) =>
        Requests > 0 && Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastActivity)) >= timeout;

    /// <summary>Lets a request of <paramref name="bytes"/> in if the limits allow it now.</summary>
    public bool TryEnter(long bytes) => Enter(bytes) == Admission.Entered;

    /// <summary>Waits until a request of <paramref name="bytes"/> may start, and lets it in.</summary>
    public async ValueTask EnterAsync(long bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Completed by an exit on the exiting thread: the reader goes on right there
            // (the sender that just made room), with no hand-over to another thread.
            var waiter = new TaskCompletionSource();
            lock (_lock)
            {
                _readerWaiter = waiter;
            }

            // Asked before trying, so a return between the try and the wait is not missed;
            // only when the server-wide pool is what is short (returns come from any connection).
            var returned = _budget.WaitForReturnAsync();
            var admission = Enter(bytes);
            if (admission == Admission.Entered)
            {
                lock (_lock)
                {
                    if (_readerWaiter == waiter)
                    {
                        _readerWaiter = null;
                    }
                }

                return;
            }

            if (admission == Admission.PoolFull)
            {
                _ = returned.ContinueWith(static (_, s) => ((TaskCompletionSource)s!).TrySetResult(), waiter, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            // A cancellation (the connection closing) must not run the reader on the canceller's thread.
            using (cancellationToken.UnsafeRegister(static s => ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetCanceled(), (TaskCompletionSource)s!, preferLocal: false), waiter))
            {
                await waiter.Task.ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// <paramref name="requests"/> requests holding <paramref name="bytes"/>
    /// have replied (or never will): their share goes back.
    /// </summary>
    public void Exit(int requests, long bytes)
    {
        long giveBack;
        TaskCompletionSource? reader = null;
        TaskCompletionSource? empty = null;
        lock (_lock)
        {
            _requests -= requests;
            _bytes -= bytes;
            var fromBudget = Math.Max(0, _bytes - _reserved);
            giveBack = _fromBudget - fromBudget;
            _fromBudget = fromBudget;
            if (_requests == 0 || (_requests <= _maxRequests / 2 && _bytes <= _maxBytes / 2))
            {
                (reader, _readerWaiter) = (_readerWaiter, null);
            }

            if (_requests == 0)
            {
                (empty, _emptyWaiter) = (_emptyWaiter, null);
            }

            Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());
        }

        _budget.Return(giveBack);
        reader?.TrySetResult();
        empty?.TrySetResult();
    }

    private Admission Enter(long bytes)
    {
        lock (_lock)
        {
            // A request larger than the connection's limit runs alone rather than never.
            if (_requests >= _maxRequests || (_requests > 0 && _bytes + bytes > _maxBytes))
            {
                return Admission.ConnectionFull;
            }

            var fromBudget = Math.Max(0, _bytes + bytes - _reserved);
            if (!_budget.TryTake(fromBudget - _fromBudget))
            {
                return Admission.PoolFull;
            }

            _fromBudget = fromBudget;
            _requests++;
            _bytes += bytes;
            Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());
            return Admission.Entered;
        }
    }

    /// <summary>Completes when every request that entered has exited.</summary>
    public async ValueTask WaitUntilEmptyAsync()
    {
        while (true)
        {
            Task exited;
            lock (_lock)
            {
                if (_requests == 0)
                {
                    return;
                }

                _emptyWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                exited = _emptyWaiter.Task;
            }

            await exited.ConfigureAwait(false);
        }
    }

    private enum Admission
    {
        Entered,
        ConnectionFull,
        PoolFull,
    }
}
