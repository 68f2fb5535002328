using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Profiles;

/// <summary>
/// Notes which blocks a session reads in its first minutes, in first-read
/// order, at the shared read cache's block size: the boot profile of the
/// version. Sits between the session's write cache and the shared read cache,
/// so it sees what the session asks of the vDisk whether the cache hits or
/// not (a warm boot records as well as a cold one).
/// </summary>
/// <remarks>
/// The read path stays cheap: once recording stops it is one volatile read;
/// while it runs, a block already seen costs one bitmap test, and only a
/// block's first read takes the lock that keeps the order list. The recorder
/// never owns the layer below (it is shared): disposing it only stops it.
/// </remarks>
public sealed class BootProfileRecorder : BlockDeviceFilter
{
    private readonly int _blockBits;
    private readonly long _deadline;
    private readonly int _maxBlocks;
    private readonly long[] _seen;
    private readonly List<long> _order = [];
    private readonly Lock _lock = new();
    private volatile bool _recording = true;
    private int _stopped;

    /// <param name="next">The shared layer read through (never disposed here).</param>
    /// <param name="blockSize">The shared read cache's block size.</param>
    /// <param name="window">How long after opening reads are recorded.</param>
    /// <param name="maxBytes">Recording stops when the profile reaches this many bytes.</param>
    public BootProfileRecorder(IBlockDevice next, int blockSize, TimeSpan window, long maxBytes) : base(next)
    {
        BlockSize = blockSize;
        _blockBits = int.Log2(blockSize);
        _deadline = Environment.TickCount64 + (long)window.TotalMilliseconds;
        _maxBlocks = (int)Math.Clamp(maxBytes / blockSize, 1, BootProfile.MaxExtents);
        _seen = new long[((next.Size >> _blockBits) + 64) / 64];
    }

    /// <summary>Raised once, on the thread that stopped the recording (window over, cap reached, session ended).</summary>
    public event Action<BootProfileRecorder>? Stopped;

    public int BlockSize { get; }

    public bool Recording => _recording;

    public int BlocksRecorded
    {
        get
        {
            lock (_lock)
            {
                return _order.Count;
            }
        }
    }

    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_recording && buffer.Length > 0)
        {
            Note(offset, buffer.Length);
        }

        return Next.ReadAsync(offset, buffer, cancellationToken);
    }

    public override bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        if (!base.TryMapRead(offset, length, segments, out count))
        {
            return false;
        }

        if (_recording && length > 0)
        {
            Note(offset, length);
        }

        return true;
    }

    /// <summary>Stops recording; true the first time.</summary>
    public bool Stop()
    {
        _recording = false;
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return false;
        }

        Stopped?.Invoke(this);
        return true;
    }

    /// <summary>The blocks read so far, coalesced into extents in first-read order.</summary>
    public BootProfile ToProfile()
    {
        long[] blocks;
        lock (_lock)
        {
            blocks = [.. _order];
        }

        var extents = new List<ProfileExtent>();
        for (var i = 0; i < blocks.Length;)
        {
            var first = blocks[i];
            var count = 1;
            while (i + count < blocks.Length && blocks[i + count] == first + count)
            {
                count++;
            }

            var start = first << _blockBits;
            extents.Add(new ProfileExtent(start, Math.Min((long)count << _blockBits, Size - start)));
            i += count;
        }

        return new BootProfile(BlockSize, Size, DateTimeOffset.UtcNow, extents);
    }

    public override ValueTask DisposeAsync()
    {
        Stop();
        return default;
    }

    private void Note(long offset, int length)
    {
        if (Environment.TickCount64 >= _deadline)
        {
            Stop();
            return;
        }

        var last = Math.Min(offset + length - 1, Size - 1) >> _blockBits;
        for (var block = offset >> _blockBits; block <= last; block++)
        {
            var bit = 1L << (int)(block & 63);
            ref var word = ref _seen[block >> 6];
            if ((Volatile.Read(ref word) & bit) != 0 || (Interlocked.Or(ref word, bit) & bit) != 0)
            {
                continue;
            }

            bool full;
            lock (_lock)
            {
                _order.Add(block);
                full = _order.Count >= _maxBlocks;
            }

            if (full)
            {
                Stop();
                return;
            }
        }
    }
}
