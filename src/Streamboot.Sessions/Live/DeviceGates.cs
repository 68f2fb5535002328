namespace Streamboot.Sessions.Live;

/// <summary>
/// One gate per device, made while someone holds or waits for it and gone
/// when nobody does: a device's opens, joins, releases and moves take turns,
/// other devices' never wait for them. (A fixed set of gates shared by
/// hashing made a boot storm's devices queue behind each other's database
/// writes: 500 devices on 64 gates.) What it holds is bounded by the
/// connections being opened or closed at once.
/// </summary>
internal sealed class DeviceGates
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Entry> _entries = [];

    /// <summary>Gates held or waited for now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Waits for the device's turn; disposing the answer ends it.</summary>
    public async Task<Held> EnterAsync(long deviceId, CancellationToken cancellationToken = default)
    {
        Entry? entry;
        lock (_lock)
        {
            if (!_entries.TryGetValue(deviceId, out entry))
            {
                entry = new Entry();
                _entries[deviceId] = entry;
            }

            entry.Users++;
        }

        try
        {
            await entry.Turn.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(deviceId, entry, release: false);
            throw;
        }

        return new Held(this, deviceId, entry);
    }

    private void Leave(long deviceId, Entry entry, bool release)
    {
        if (release)
        {
            entry.Turn.Release();
        }

        lock (_lock)
        {
            if (--entry.Users == 0)
            {
                _entries.Remove(deviceId);
            }
        }
    }

    internal sealed class Entry
    {
        public SemaphoreSlim Turn { get; } = new(1, 1);

        /// <summary>Holders and waiters; guarded by the gates' lock.</summary>
        public int Users { get; set; }
    }

    /// <summary>A device's turn, held until disposed (once).</summary>
    public sealed class Held : IDisposable
    {
        private DeviceGates? _gates;
        private readonly long _deviceId;
        private readonly Entry _entry;

        internal Held(DeviceGates gates, long deviceId, Entry entry)
        {
            _gates = gates;
            _deviceId = deviceId;
            _entry = entry;
        }

        public void Dispose() => Interlocked.Exchange(ref _gates, null)?.Leave(_deviceId, _entry, release: true);
    }
}
