using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.ReadCache;

namespace Streamboot.Storage.Stacks;

/// <summary>
/// The layers every session of one image version shares: its chain, opened
/// read-only once, and the <see cref="SharedReadCache"/> over it, so N
/// clients booting one version read each block from storage once.
/// </summary>
/// <remarks>
/// Entries are keyed by <see cref="SharedImageKey"/>: the caller's id plus
/// the top file's identity. A file replaced under the same path (a vDisk
/// deleted and imported again under its name) gets a new entry, and the old
/// one is closed once its last user lets go, so no reader is ever handed
/// another disk's cached blocks. Users hold a <see cref="SharedImage"/>
/// lease; an entry nobody holds is closed by <see cref="Sweep"/> after it
/// has been unused for a while (kept meanwhile: the next boot of the
/// version finds its cache warm).
/// </remarks>
public sealed class SharedImages(long readCacheBytes, TimeProvider? clock = null) : IAsyncDisposable
{
    private readonly Dictionary<SharedImageKey, Entry> _entries = [];
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Bytes of each image's read cache.</summary>
    public long ReadCacheBytes { get; } = readCacheBytes;

    /// <summary>Test and benchmark only: a delay added to every read of image storage (slow shared storage).</summary>
    public TimeSpan StorageReadLatency { get; init; }

    /// <summary>Images open now (held or kept warm).</summary>
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

    /// <summary>The ids of the images open now (held or kept warm).</summary>
    public IReadOnlySet<long> Ids()
    {
        lock (_lock)
        {
            return _entries.Keys.Select(k => k.Id).ToHashSet();
        }
    }

    /// <summary>Hits and misses of every open image's read cache.</summary>
    public (long Hits, long Misses) Counters()
    {
        lock (_lock)
        {
            return (_entries.Values.Sum(e => e.Cache.Hits), _entries.Values.Sum(e => e.Cache.Misses));
        }
    }

    /// <summary>
    /// A hold on the shared layers of the image whose top file is
    /// <paramref name="topFile"/>, opening them if needed. Throws
    /// <see cref="IOException"/> or <see cref="BlockDeviceException"/> when
    /// the image cannot be opened.
    /// </summary>
    public SharedImage Acquire(long id, string topFile)
    {
        var key = new SharedImageKey(id, FileIdentity.Of(topFile));
        List<Entry> stale;
        SharedImage lease;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_entries.TryGetValue(key, out var entry))
            {
                IBlockDevice storage = ImageChain.Open(topFile, readOnly: true);
                if (StorageReadLatency > TimeSpan.Zero)
                {
                    storage = new LatencyBlockDevice(storage, StorageReadLatency);
                }

                entry = new Entry(key, new SharedReadCache(storage, ReadCacheBytes));
                _entries[key] = entry;
            }

            entry.Users++;
            lease = new SharedImage(this, entry);
            // The same id under another file identity: that file was replaced.
            stale = Remove(e => e.Key.Id == id && e.Key != key);
        }

        CloseUnused(stale);
        return lease;
    }

    /// <summary>
    /// The image with this id is gone (its version deleted or rolled back):
    /// its entries are closed now if unused, or when their last user lets go.
    /// </summary>
    public void Forget(long id)
    {
        List<Entry> unused;
        lock (_lock)
        {
            unused = Remove(e => e.Key.Id == id);
        }

        CloseUnused(unused);
    }

    /// <summary>Closes images nobody has held for <paramref name="unusedFor"/>; returns how many.</summary>
    public int Sweep(TimeSpan unusedFor)
    {
        var now = _clock.GetUtcNow();
        List<Entry> unused;
        lock (_lock)
        {
            unused = Remove(e => e.Users == 0 && now - e.LastReleased >= unusedFor);
        }

        CloseUnused(unused);
        return unused.Count;
    }

    public async ValueTask DisposeAsync()
    {
        List<Entry> all;
        lock (_lock)
        {
            _disposed = true;
            all = [.. _entries.Values];
            _entries.Clear();
        }

        foreach (var entry in all)
        {
            await entry.Cache.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal void Release(Entry entry)
    {
        bool close;
        lock (_lock)
        {
            entry.Users--;
            entry.LastReleased = _clock.GetUtcNow();
            close = entry.Users == 0 && (entry.Removed || _disposed);
        }

        if (close)
        {
            entry.Cache.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Takes matching entries out of the table (under the lock); those nobody holds are returned for closing.</summary>
    private List<Entry> Remove(Func<Entry, bool> match)
    {
        var unused = new List<Entry>();
        foreach (var entry in _entries.Values.Where(match).ToList())
        {
            _entries.Remove(entry.Key);
            entry.Removed = true;
            if (entry.Users == 0)
            {
                unused.Add(entry);
            }
        }

        return unused;
    }

    private static void CloseUnused(List<Entry> entries)
    {
        foreach (var entry in entries)
        {
            // Closing an image is closing its file handles: nothing to wait for.
            entry.Cache.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    internal sealed class Entry(SharedImageKey key, SharedReadCache cache)
    {
        public SharedImageKey Key { get; } = key;

        public SharedReadCache Cache { get; } = cache;

        public int Users { get; set; }

        public DateTimeOffset LastReleased { get; set; }

        /// <summary>Out of the table: closed when its last user lets go.</summary>
        public bool Removed { get; set; }
    }
}
