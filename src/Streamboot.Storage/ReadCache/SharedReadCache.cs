using System.Collections.Concurrent;
using Streamboot.Storage.BlockDevices;
using Streamboot.Telemetry;

namespace Streamboot.Storage.ReadCache;

/// <summary>
/// Blocks of a read-only layer (a vDisk version chain) cached in server RAM
/// once for every session that boots it, so N clients booting the same image
/// read each block from storage once.
/// </summary>
/// <remarks>
/// Eviction is S3-FIFO (Yang et al., SOSP 2023): new blocks enter a small
/// FIFO (10 % of the space); a block read again while there moves to the
/// main FIFO, which gives blocks with hits another lap instead of evicting
/// them; blocks evicted from the small queue leave a ghost key, and a block
/// whose ghost is found comes straight back into main. A one-time scan (a
/// client copying the whole disk, an antivirus pass) therefore only churns
/// the small queue and cannot flush the boot working set out of main.
/// Hits take no lock: a concurrent dictionary look-up, a frequency bump and
/// a copy out of an immutable block array. Misses are single-flight: two
/// sessions missing the same block wait for one read of the layer below.
/// A block array is never written after it is loaded, so a mapped read
/// (<see cref="IReadMapping"/>) may hand out the arrays themselves: an
/// evicted block lives on until the last reply that names it is sent.
/// </remarks>
public sealed class SharedReadCache : IBlockDevice, IReadMapping
{
    private const int MaxFrequency = 3;
    private const int MaxAdmitting = 4;

    private readonly IBlockDevice _lower;
    private readonly bool _ownsLower;
    private readonly int _blockSize;
    private readonly int _blockBits;
    private readonly int _capacityBlocks;
    private readonly int _smallTarget;
    private readonly bool _admits;
    private readonly IReadMapping? _lowerMapping;
    private readonly ConcurrentDictionary<long, Entry> _entries = new();
    private readonly Dictionary<long, TaskCompletionSource<Entry>> _loading = [];
    private readonly Queue<Entry> _small = new();
    private readonly Queue<Entry> _main = new();
    private readonly Queue<long> _ghostOrder = new();
    private readonly HashSet<long> _ghosts = [];
    private readonly Lock _lock = new();
    private long _hits;
    private long _misses;
    private long _prefetched;
    private int _admitting;

    public SharedReadCache(IBlockDevice lower, long capacityBytes, int blockSize = 64 * 1024, bool ownsLower = true)
    {
        if (blockSize < 512 || (blockSize & (blockSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "The block size must be a power of two of at least 512.");
        }

        _lower = lower;
        Size = lower.Size;
        _ownsLower = ownsLower;
        _blockSize = blockSize;
        _blockBits = int.Log2(blockSize);
        _capacityBlocks = (int)Math.Clamp(capacityBytes / blockSize, 2, int.MaxValue);
        _smallTarget = Math.Max(1, _capacityBlocks / 10);
        // Capacity 0 is "no read cache": every read goes to the layer below as it is.
        _admits = capacityBytes > 0;
        _lowerMapping = lower as IReadMapping;
    }

    public long Size { get; }

    public BlockDeviceCapabilities Capabilities =>
        BlockDeviceCapabilities.ReadOnly | BlockDeviceCapabilities.CanMultiConn | (_lower.Capabilities & BlockDeviceCapabilities.CanExtents);

    /// <summary>Block reads served from memory.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Block reads that went to the layer below.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Blocks <see cref="PrefetchAsync"/> found missing and loaded (or joined a load of).</summary>
    public long Prefetched => Interlocked.Read(ref _prefetched);

    /// <summary>The caching granularity: reads and prefetches are whole blocks of this size.</summary>
    public int BlockSize => _blockSize;

    /// <summary>Bytes held now.</summary>
    public long BytesCached => (long)_entries.Count * _blockSize;

    public long CapacityBytes => (long)_capacityBlocks * _blockSize;

    // This cache's counts, and the process's totals for /metrics, which only
    // grow though caches close when their version goes unused.
    private void CountHits(long blocks)
    {
        Interlocked.Add(ref _hits, blocks);
        StreambootMetrics.ReadCache.Hit(blocks);
    }

    private void CountMiss()
    {
        Interlocked.Increment(ref _misses);
        StreambootMetrics.ReadCache.Miss();
    }

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, buffer.Length);
        var inBlock = (int)(offset & (_blockSize - 1));
        if (inBlock + buffer.Length <= _blockSize && _entries.TryGetValue(offset >> _blockBits, out var hit))
        {
            CountHits(1);
            if (hit.Frequency < MaxFrequency)
            {
                hit.Frequency++;
            }

            hit.Data.AsSpan(inBlock, buffer.Length).CopyTo(buffer.Span);
            return default;
        }

        return ReadSlowAsync(offset, buffer, cancellationToken);
    }

    /// <summary>
    /// Cached blocks map to the cached arrays (no copy here; the protocol
    /// sends from them). Missing blocks map to the layer below when it maps
    /// (a raw file, qcow2 data clusters: the page cache serves them, one copy
    /// into the socket), and are loaded into the cache in the background
    /// only when seen a second time, so a pass over a disk larger than the
    /// cache costs no copy and evicts nothing; otherwise a miss declines and
    /// the ordinary read loads it.
    /// </summary>
    public bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        count = 0;
        var at = offset;
        var left = length;
        var hits = 0;
        while (left > 0)
        {
            var inBlock = (int)(at & (_blockSize - 1));
            var n = Math.Min(_blockSize - inBlock, left);
            if (count == segments.Length)
            {
                return false;
            }

            if (!_entries.TryGetValue(at >> _blockBits, out var entry))
            {
                if (_lowerMapping is null || !_lowerMapping.TryMapRead(at, n, segments[count..], out var mapped))
                {
                    return false;
                }

                count += mapped;
                CountMiss();
                if (_admits)
                {
                    SeenUncached(at >> _blockBits);
                }

                at += n;
                left -= n;
                continue;
            }

            // A decline further on leaves this bump behind, and the read that follows bumps
            // again: the frequency is a hint capped at 3, so that is harmless.
            if (entry.Frequency < MaxFrequency)
            {
                entry.Frequency++;
            }

            segments[count++] = ReadSegment.FromMemory(entry.Data.AsMemory(inBlock, n));
            hits++;
            at += n;
            left -= n;
        }

        CountHits(hits);
        return true;
    }

    /// <summary>
    /// A block served from below without the cache: remembered the first
    /// time (with the ghosts of evicted blocks, bounded the same way), loaded
    /// in the background the second time.
    /// </summary>
    private void SeenUncached(long block)
    {
        lock (_lock)
        {
            if (_loading.ContainsKey(block) || _entries.ContainsKey(block) || !RememberLocked(block))
            {
                return;
            }
        }

        // A few fills at a time: a scan seen twice must not queue the whole
        // disk behind the clients' own reads (what is skipped now is filled
        // at a later sighting, still a ghost).
        if (Interlocked.Increment(ref _admitting) > MaxAdmitting)
        {
            Interlocked.Decrement(ref _admitting);
            return;
        }

        _ = AdmitAsync(block);
    }

    /// <summary>True when the block was seen (or evicted) before; else remembers it and returns false.</summary>
    private bool SeenBefore(long block)
    {
        lock (_lock)
        {
            return _loading.ContainsKey(block) || RememberLocked(block);
        }
    }

    private bool RememberLocked(long block)
    {
        if (_ghosts.Contains(block))
        {
            return true;
        }

        _ghosts.Add(block);
        _ghostOrder.Enqueue(block);
        while (_ghostOrder.Count > _capacityBlocks)
        {
            _ghosts.Remove(_ghostOrder.Dequeue());
        }

        return false;
    }

    private async Task AdmitAsync(long block)
    {
        try
        {
            await LoadAsync(block, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BlockDeviceException or IOException or ObjectDisposedException)
        {
            // A background fill that failed only leaves the block uncached; a reader's own read reports errors.
        }
        finally
        {
            Interlocked.Decrement(ref _admitting);
        }
    }

    private async ValueTask ReadSlowAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_admits)
        {
            await _lower.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
            return;
        }

        while (!buffer.IsEmpty)
        {
            var block = offset >> _blockBits;
            var inBlock = (int)(offset & (_blockSize - 1));
            var n = Math.Min(_blockSize - inBlock, buffer.Length);
            if (_entries.TryGetValue(block, out var entry))
            {
                CountHits(1);
                if (entry.Frequency < MaxFrequency)
                {
                    entry.Frequency++; // a lost increment under a race only costs a little precision
                }
            }
            else if (n < _blockSize / 2 && !SeenBefore(block))
            {
                // A small read's first sight: just what was asked (a 4 KiB random
                // read must not cost a 64 KiB block and an allocation); cached if
                // seen again. A read of most of a block loads it at once, so a
                // boot storm's second client already reads RAM.
                await _lower.ReadAsync(offset, buffer[..n], cancellationToken).ConfigureAwait(false);
                CountMiss();
                offset += n;
                buffer = buffer[n..];
                continue;
            }
            else
            {
                entry = await LoadAsync(block, cancellationToken).ConfigureAwait(false);
            }

            entry.Data.AsSpan(inBlock, n).CopyTo(buffer.Span);
            offset += n;
            buffer = buffer[n..];
        }
    }

    private async ValueTask<Entry> LoadAsync(long block, CancellationToken cancellationToken)
    {
        TaskCompletionSource<Entry>? pending;
        lock (_lock)
        {
            if (_entries.TryGetValue(block, out var cached))
            {
                CountHits(1);
                return cached;
            }

            if (!_loading.TryGetValue(block, out pending))
            {
                pending = new TaskCompletionSource<Entry>(TaskCreationOptions.RunContinuationsAsynchronously);
                _loading[block] = pending;
                pending = null; // this caller reads the block
            }
            else
            {
                CountHits(1); // another session is already reading it
            }
        }

        if (pending is not null)
        {
            return await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        lock (_lock)
        {
            pending = _loading[block];
        }

        CountMiss();
        try
        {
            var start = block << _blockBits;
            // Blocks live for minutes and there are many of them: on the pinned
            // heap the GC never copies them from generation to generation
            // (64 KiB is below the large-object threshold, so a gen0 array would
            // be copied twice on its way to gen2; a cold pass over a 1 GiB disk
            // spent most of its time there), and a reply can send from them
            // without moving anything. The read fills the array; a last block
            // shorter than the block size gets a zero tail.
            var data = GC.AllocateUninitializedArray<byte>(_blockSize, pinned: true);
            var valid = (int)Math.Min(_blockSize, Size - start);
            data.AsSpan(valid).Clear();
            await _lower.ReadAsync(start, data.AsMemory(0, valid), cancellationToken).ConfigureAwait(false);
            var entry = new Entry(block, data);
            lock (_lock)
            {
                Insert(entry);
                _loading.Remove(block);
            }

            pending.SetResult(entry);
            return entry;
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                _loading.Remove(block);
            }

            pending.SetException(e);
            throw;
        }
    }

    /// <summary>S3-FIFO insertion (caller holds the lock).</summary>
    private void Insert(Entry entry)
    {
        while (_entries.Count >= _capacityBlocks)
        {
            Evict();
        }

        if (_ghosts.Remove(entry.Block))
        {
            _main.Enqueue(entry);
        }
        else
        {
            _small.Enqueue(entry);
        }

        _entries[entry.Block] = entry;
    }

    private void Evict()
    {
        if (_small.Count >= _smallTarget || _main.Count == 0)
        {
            var victim = _small.Dequeue();
            if (victim.Frequency > 0)
            {
                victim.Frequency = 0;
                _main.Enqueue(victim);
                return;
            }

            _entries.TryRemove(victim.Block, out _);
            _ghosts.Add(victim.Block);
            _ghostOrder.Enqueue(victim.Block);
            while (_ghostOrder.Count > _capacityBlocks)
            {
                _ghosts.Remove(_ghostOrder.Dequeue());
            }

            return;
        }

        while (true)
        {
            var victim = _main.Dequeue();
            if (victim.Frequency > 0)
            {
                victim.Frequency--;
                _main.Enqueue(victim);
                continue;
            }

            _entries.TryRemove(victim.Block, out _);
            return;
        }
    }

    /// <summary>
    /// Loads a range into the cache without a reader waiting for it: the boot
    /// profile of a vDisk (the blocks a boot read, in order) is replayed with
    /// this before clients boot, so their first reads are hits.
    /// </summary>
    public async Task PrefetchAsync(long offset, long length, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        if (length == 0)
        {
            return;
        }

        for (var block = offset >> _blockBits; block <= (offset + length - 1) >> _blockBits; block++)
        {
            if (!_entries.ContainsKey(block))
            {
                Interlocked.Increment(ref _prefetched);
                await LoadAsync(block, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        throw ReadOnly();

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => default;

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        throw ReadOnly();

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        throw ReadOnly();

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) =>
        _lower.GetExtentsAsync(offset, length, extents, cancellationToken);

    public ValueTask DisposeAsync() => _ownsLower ? _lower.DisposeAsync() : default;

    private static BlockDeviceException ReadOnly() =>
        new(BlockDeviceError.ReadOnly, "The shared read cache is read-only: writes belong in a session's write cache above it.");

    private sealed class Entry(long block, byte[] data)
    {
        public long Block { get; } = block;

        public byte[] Data { get; } = data;

        public int Frequency { get; set; }
    }
}
