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
/// and wait again, a hand-over between threads per request.
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
    private TaskCompletionSource? _exited;

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
    public bool TryEnter(long bytes)
    {
        lock (_lock)
        {
            // A request larger than the connection's limit runs alone rather than never.
            if (_requests >= _maxRequests || (_requests > 0 && _bytes + bytes > _maxBytes))
            {
                return false;
            }

            var fromBudget = Math.Max(0, _bytes + bytes - _reserved);
            if (!_budget.TryTake(fromBudget - _fromBudget))
            {
                return false;
            }

            _fromBudget = fromBudget;
            _requests++;
            _bytes += bytes;
            Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());
            return true;
        }
    }

    /// <summary>Waits until a request of <paramref name="bytes"/> may start, and lets it in.</summary>
    public async ValueTask EnterAsync(long bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Ask for both wake-ups before trying, so an exit in between is not missed.
            Task exited;
            lock (_lock)
            {
                _exited ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                exited = _exited.Task;
            }

            var returned = _budget.WaitForReturnAsync();
            if (TryEnter(bytes))
            {
                return;
            }

            await Task.WhenAny(exited, returned).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <paramref name="requests"/> requests holding <paramref name="bytes"/>
    /// have replied (or never will): their share goes back.
    /// </summary>
    public void Exit(int requests, long bytes)
    {
        long giveBack;
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            _requests -= requests;
            _bytes -= bytes;
            var fromBudget = Math.Max(0, _bytes - _reserved);
            giveBack = _fromBudget - fromBudget;
            _fromBudget = fromBudget;
            waiter = null;
            if (_requests == 0 || (_requests <= _maxRequests / 2 && _bytes <= _maxBytes / 2))
            {
                waiter = _exited;
                _exited = null;
            }

            Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());
        }

        _budget.Return(giveBack);
        waiter?.TrySetResult();
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

                _exited ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                exited = _exited.Task;
            }

            await exited.ConfigureAwait(false);
        }
    }
}
