using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.WriteCaches;

/// <summary>
/// Blocks in server RAM up to a bound, then in an overflow store on disk
/// ("cache in device RAM with overflow on hard disk"). RAM is taken in 1 MiB
/// chunks as it is needed, so an idle client costs nothing. Slots below the
/// RAM capacity are RAM; the rest are the overflow store's slots, shifted.
/// </summary>
public sealed class RamOverlayStore : IOverlayStore
{
    private const int ChunkBytes = 1 << 20;

    private readonly int _blockSize;
    private readonly int _blocksPerChunk;
    private readonly int _ramSlots;
    private readonly IOverlayStore? _overflow;
    private readonly byte[]?[] _chunks;
    private readonly Stack<int> _free = new();
    private readonly Lock _lock = new();
    private int _nextSlot;
    private int _ramUsed;

    /// <param name="blockSize">The overlay's block size (a divisor of 1 MiB).</param>
    /// <param name="ramBytes">RAM bound.</param>
    /// <param name="overflow">Where blocks go when RAM is full; null means the cache is full then.</param>
    public RamOverlayStore(int blockSize, long ramBytes, IOverlayStore? overflow)
    {
        if (ChunkBytes % blockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "The block size must divide 1 MiB.");
        }

        _blockSize = blockSize;
        _blocksPerChunk = ChunkBytes / blockSize;
        _ramSlots = (int)Math.Min(ramBytes / blockSize, int.MaxValue / 2);
        _overflow = overflow;
        _chunks = new byte[(_ramSlots + _blocksPerChunk - 1) / _blocksPerChunk][];
    }

    /// <summary>Bytes held in RAM.</summary>
    public long RamBytesUsed => (long)Volatile.Read(ref _ramUsed) * _blockSize;

    /// <summary>Bytes spilled to the overflow store.</summary>
    public long OverflowBytesUsed => _overflow?.BytesUsed ?? 0;

    public long BytesUsed => RamBytesUsed + OverflowBytesUsed;

    public int Allocate()
    {
        lock (_lock)
        {
            if (_free.TryPop(out var slot))
            {
                _ramUsed++;
                return slot;
            }

            if (_nextSlot < _ramSlots)
            {
                slot = _nextSlot++;
                _chunks[slot / _blocksPerChunk] ??= new byte[ChunkBytes];
                _ramUsed++;
                return slot;
            }
        }

        if (_overflow is null)
        {
            throw new BlockDeviceException(BlockDeviceError.NoSpace, $"The RAM write cache is full ({(long)_ramSlots * _blockSize} bytes) and has no overflow disk.");
        }

        return _ramSlots + _overflow.Allocate();
    }

    public void Free(int slot)
    {
        if (slot >= _ramSlots)
        {
            _overflow!.Free(slot - _ramSlots);
            return;
        }

        lock (_lock)
        {
            _ramUsed--;
            _free.Push(slot);
        }
    }

    public void Read(int slot, int offsetInBlock, Span<byte> destination)
    {
        if (slot >= _ramSlots)
        {
            _overflow!.Read(slot - _ramSlots, offsetInBlock, destination);
            return;
        }

        Block(slot).Slice(offsetInBlock, destination.Length).CopyTo(destination);
    }

    public void Write(int slot, int offsetInBlock, ReadOnlySpan<byte> source)
    {
        if (slot >= _ramSlots)
        {
            _overflow!.Write(slot - _ramSlots, offsetInBlock, source);
            return;
        }

        source.CopyTo(Block(slot)[offsetInBlock..]);
    }

    public void Flush() => _overflow?.Flush();

    public void Dispose() => _overflow?.Dispose();

    private Span<byte> Block(int slot) =>
        _chunks[slot / _blocksPerChunk].AsSpan((slot % _blocksPerChunk) * _blockSize, _blockSize);
}
