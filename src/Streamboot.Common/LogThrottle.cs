namespace Streamboot;

/// <summary>
/// Holds one kind of log line (a refused request, a dropped datagram) to a
/// rate, so that a flood of bad packets costs the log a few lines a minute
/// instead of one per packet: at most <c>linesPerInterval</c> lines in each
/// interval; those beyond are only counted, and the next line let through
/// carries that count. Counters elsewhere keep the totals. Thread-safe.
/// </summary>
public sealed class LogThrottle
{
    private readonly int _linesPerInterval;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _windowStart;
    private bool _started;
    private int _linesInWindow;
    private long _suppressed;

    public LogThrottle(int linesPerInterval, TimeSpan interval, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerInterval, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _linesPerInterval = linesPerInterval;
        _interval = interval;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Lines held back so far and not yet reported by a line let through.</summary>
    public long Suppressed
    {
        get
        {
            lock (_lock)
            {
                return _suppressed;
            }
        }
    }

    /// <summary>
    /// True when this line may be written; <paramref name="suppressedBefore"/>
    /// is how many were held back since the last one written (to put in it).
    /// </summary>
    public bool TryAcquire(out long suppressedBefore)
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (!_started || _time.GetElapsedTime(_windowStart, now) >= _interval)
            {
                _started = true;
                _windowStart = now;
                _linesInWindow = 0;
            }

            if (_linesInWindow < _linesPerInterval)
            {
                _linesInWindow++;
                suppressedBefore = _suppressed;
                _suppressed = 0;
                return true;
            }

            _suppressed++;
            suppressedBefore = 0;
            return false;
        }
    }
}
