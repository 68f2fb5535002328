namespace Streamboot.Sessions.Farm;

/// <summary>
/// Clients waiting for a booting slot, first come first served: a client
/// that asks again (iPXE retries its script) keeps its place; one that has
/// not asked for a while has given up and leaves. Bounded: past
/// <see cref="MaxWaiting"/> the longest-silent waiters are forgotten.
/// </summary>
internal sealed class BootQueue(TimeProvider clock)
{
    public const int MaxWaiting = 10_000;

    /// <summary>A waiter not heard from for this long has left the queue.</summary>
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, (DateTime First, DateTime Last)> _waiting = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>How many live waiters came before <paramref name="mac"/> (all of them, for a newcomer).</summary>
    public int Ahead(string mac, DateTime now)
    {
        lock (_lock)
        {
            Expire(now);
            if (!_waiting.TryGetValue(mac, out var mine))
            {
                return _waiting.Count;
            }

            return _waiting.Values.Count(w => w.First < mine.First);
        }
    }

    public void Wait(string mac, DateTime now)
    {
        lock (_lock)
        {
            if (_waiting.TryGetValue(mac, out var w))
            {
                _waiting[mac] = (w.First, now);
                return;
            }

            if (_waiting.Count >= MaxWaiting)
            {
                var oldest = _waiting.MinBy(p => p.Value.Last).Key;
                _waiting.Remove(oldest);
            }

            _waiting[mac] = (now, now);
        }
    }

    public void Admitted(string mac)
    {
        lock (_lock)
        {
            _waiting.Remove(mac);
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                Expire(clock.GetUtcNow().UtcDateTime);
                return _waiting.Count;
            }
        }
    }

    private void Expire(DateTime now)
    {
        List<string>? gone = null;
        foreach (var (mac, w) in _waiting)
        {
            if (now - w.Last > Silence)
            {
                (gone ??= []).Add(mac);
            }
        }

        foreach (var mac in gone ?? [])
        {
            _waiting.Remove(mac);
        }
    }
}
