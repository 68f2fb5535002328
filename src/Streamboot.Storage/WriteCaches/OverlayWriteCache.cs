using System.Buffers;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.WriteCaches;

/// <summary>
/// A per-client write cache over a read-only chain (nbdkit's cow filter, in
/// C#): the disk is cut into blocks, and a block map says for each block
/// whether it is still the lower layer's, was trimmed or zeroed (reads as
/// zeroes), or lives in slot N of the store. A partial write to a block the
/// client has not written yet copies the block up from below first.
/// </summary>
/// <remarks>
/// The map has two levels of int arrays (4096 blocks per page), allocated as
/// the client writes, so a 100 GiB disk costs nothing until it is written.
/// Entries are read without a lock (an int read is atomic); allocating,
/// trimming and copy-up take one semaphore; writes into a block's slot hold a
/// reader-writer gate shared, which trim takes exclusively to free slots, so
/// a write racing a trim never lands in a slot reused by another block. (A
/// read racing a trim of the same block may see the slot's next contents:
/// the guest asked for both at once, and it is its own disk.) Each session gets its own
/// overlay and its own store, so one client's writes are never visible to
/// another.
/// </remarks>
public sealed class OverlayWriteCache : IBlockDevice, IReadMapping
{
    private const int PageBits = 12;
    private const int Absent = 0;
    private const int Zeroed = -1;

    private readonly IBlockDevice _lower;
    private readonly IOverlayStore _store;
    private readonly int _blockSize;
    private readonly int _blockBits;
    private readonly int[]?[] _pages;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly ReaderWriterLockSlim _reuseGate = new(LockRecursionPolicy.NoRecursion);

    public OverlayWriteCache(IBlockDevice lower, IOverlayStore store, int blockSize = 4096)
    {
        if (blockSize < 512 || (blockSize & (blockSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "The block size must be a power of two of at least 512.");
        }

        _lower = lower;
        Size = lower.Size;
        _store = store;
        _blockSize = blockSize;
        _blockBits = int.Log2(blockSize);
        var blocks = (lower.Size + blockSize - 1) >> _blockBits;
        _pages = new int[(blocks >> PageBits) + 1][];
    }

    public long Size { get; }

    /// <summary>Bytes the client's writes occupy now (RAM and disk).</summary>
    public long BytesUsed => _store.BytesUsed;

    public IOverlayStore Store => _store;

    public BlockDeviceCapabilities Capabilities =>
        BlockDeviceCapabilities.CanTrim | BlockDeviceCapabilities.CanZero | BlockDeviceCapabilities.CanFua
        | BlockDeviceCapabilities.CanFlush | BlockDeviceCapabilities.CanExtents | BlockDeviceCapabilities.CanMultiConn;

    private int GetEntry(long block)
    {
        var page = Volatile.Read(ref _pages[block >> PageBits]);
        return page is null ? Absent : Volatile.Read(ref page[block & ((1 << PageBits) - 1)]);
    }

    private void SetEntry(long block, int value)
    {
        ref var page = ref _pages[block >> PageBits];
        page ??= new int[1 << PageBits];
        Volatile.Write(ref page[block & ((1 << PageBits) - 1)], value);
    }

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, buffer.Length);

        // Fast path: a read inside one block is served or passed down without
        // an async state machine of its own.
        var inBlock = (int)(offset & (_blockSize - 1));
        if (inBlock + buffer.Length <= _blockSize)
        {
            var entry = GetEntry(offset >> _blockBits);
            if (entry == Absent)
            {
                return _lower.ReadAsync(offset, buffer, cancellationToken);
            }

            if (entry == Zeroed)
            {
                buffer.Span.Clear();
            }
            else
            {
                _store.Read(entry - 1, inBlock, buffer.Span);
            }

            return default;
        }

        return ReadSlowAsync(offset, buffer, cancellationToken);
    }

    private async ValueTask ReadSlowAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var block = offset >> _blockBits;
            var inBlock = (int)(offset & (_blockSize - 1));
            var entry = GetEntry(block);
            var n = Math.Min(_blockSize - inBlock, buffer.Length);
            if (entry == Absent)
            {
                // Pass runs of untouched blocks down in one request.
                while (n < buffer.Length && GetEntry(++block) == Absent)
                {
                    n = Math.Min(n + _blockSize, buffer.Length);
                }

                await _lower.ReadAsync(offset, buffer[..n], cancellationToken).ConfigureAwait(false);
            }
            else if (entry == Zeroed)
            {
                buffer.Span[..n].Clear();
            }
            else
            {
                _store.Read(entry - 1, inBlock, buffer.Span[..n]);
            }

            offset += n;
            buffer = buffer[n..];
        }
    }

    /// <summary>
    /// Blocks the client never wrote map to what the lower layer maps, zeroed
    /// ones to zeroes; a block of the client's own declines (its slot is
    /// rewritten in place, and a RAM slot is not a file).
    /// </summary>
    public bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        count = 0;
        while (length > 0)
        {
            var block = offset >> _blockBits;
            var entry = GetEntry(block);
            var n = (int)Math.Min(_blockSize - (offset & (_blockSize - 1)), length);
            while (n < length && GetEntry(++block) == entry && entry <= 0)
            {
                n = Math.Min(n + _blockSize, length);
            }

            if (entry == Zeroed)
            {
                if (!ReadSegment.TryAppend(segments, ref count, ReadSegment.Zeroes(n)))
                {
                    return false;
                }
            }
            else if (entry != Absent || _lower is not IReadMapping lower || !lower.TryMapRead(offset, n, segments[count..], out var added))
            {
                return false;
            }
            else
            {
                count = ReadSegment.JoinAt(segments, count, count + added);
            }

            offset += n;
            length -= n;
        }

        return true;
    }

    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, data.Length);
        while (!data.IsEmpty)
        {
            var block = offset >> _blockBits;
            var inBlock = (int)(offset & (_blockSize - 1));
            var n = Math.Min(_blockSize - inBlock, data.Length);
            var entry = GetEntry(block);
            if (entry <= 0 || !TryWriteInPlace(block, inBlock, data.Span[..n]))
            {
                await CopyUpAndWriteAsync(block, inBlock, data[..n]).ConfigureAwait(false);
            }

            offset += n;
            data = data[n..];
        }

        if ((flags & WriteFlags.ForceUnitAccess) != 0)
        {
            _store.Flush();
        }
    }

    /// <summary>
    /// Writes into the block's slot under the reuse gate, so a trim cannot
    /// free the slot and give it to another block while this write is on its
    /// way to the old place (trim frees slots holding the gate exclusively).
    /// </summary>
    private bool TryWriteInPlace(long block, int inBlock, ReadOnlySpan<byte> data)
    {
        _reuseGate.EnterReadLock();
        try
        {
            var entry = GetEntry(block);
            if (entry <= 0)
            {
                return false;
            }

            _store.Write(entry - 1, inBlock, data);
            return true;
        }
        finally
        {
            _reuseGate.ExitReadLock();
        }
    }

    private async ValueTask CopyUpAndWriteAsync(long block, int inBlock, ReadOnlyMemory<byte> piece)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(_blockSize);
        try
        {
            var entry = GetEntry(block);
            if (entry > 0)
            {
                _store.Write(entry - 1, inBlock, piece.Span);
                return;
            }

            var slot = _store.Allocate();
            if (piece.Length < _blockSize)
            {
                var start = block << _blockBits;
                var inDisk = (int)Math.Min(_blockSize, Size - start);
                if (entry == Absent)
                {
                    await _lower.ReadAsync(start, buffer.AsMemory(0, inDisk)).ConfigureAwait(false);
                    buffer.AsSpan(inDisk, _blockSize - inDisk).Clear();
                }
                else
                {
                    buffer.AsSpan(0, _blockSize).Clear();
                }
            }

            piece.Span.CopyTo(buffer.AsSpan(inBlock));
            _store.Write(slot, 0, buffer.AsSpan(0, _blockSize));
            SetEntry(block, slot + 1);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _lock.Release();
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        _store.Flush();
        return default;
    }

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        WriteZeroesAsync(offset, length, flags, cancellationToken);

    /// <summary>Whole blocks are marked zero and their slots freed; partial blocks get zeroes written.</summary>
    public async ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        var end = offset + length;
        var mask = (long)_blockSize - 1;
        var firstWhole = (offset + mask) & ~mask;
        var lastWhole = end == Size ? (end + mask) & ~mask : end & ~mask;
        if (firstWhole >= lastWhole)
        {
            await WriteZeroBytesAsync(offset, end - offset).ConfigureAwait(false);
        }
        else
        {
            await WriteZeroBytesAsync(offset, firstWhole - offset).ConfigureAwait(false);
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                _reuseGate.EnterWriteLock();
                try
                {
                    for (var block = firstWhole >> _blockBits; block < lastWhole >> _blockBits; block++)
                    {
                        var entry = GetEntry(block);
                        if (entry != Zeroed)
                        {
                            SetEntry(block, Zeroed);
                        }

                        if (entry > 0)
                        {
                            _store.Free(entry - 1);
                        }
                    }
                }
                finally
                {
                    _reuseGate.ExitWriteLock();
                }
            }
            finally
            {
                _lock.Release();
            }

            if (lastWhole < end)
            {
                await WriteZeroBytesAsync(lastWhole, end - lastWhole).ConfigureAwait(false);
            }
        }

        if ((flags & WriteFlags.ForceUnitAccess) != 0)
        {
            _store.Flush();
        }
    }

    private async ValueTask WriteZeroBytesAsync(long offset, long length)
    {
        var zeroes = ArrayPool<byte>.Shared.Rent(_blockSize);
        Array.Clear(zeroes);
        try
        {
            while (length > 0)
            {
                var n = (int)Math.Min(length, _blockSize);
                await WriteAsync(offset, zeroes.AsMemory(0, n)).ConfigureAwait(false);
                offset += n;
                length -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(zeroes);
        }
    }

    public async ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        var end = offset + length;
        var count = 0;
        // Rented: every NBD_CMD_BLOCK_STATUS asks this, and a new array each time was all it allocated.
        var below = ArrayPool<BlockExtent>.Shared.Rent(LowerExtents);
        try
        {
            while (offset < end && count < extents.Length)
            {
                var block = offset >> _blockBits;
                var entry = GetEntry(block);
                var pieceEnd = Math.Min(end, (block + 1) << _blockBits);
                while (pieceEnd < end && Kind(GetEntry(pieceEnd >> _blockBits)) == Kind(entry))
                {
                    pieceEnd = Math.Min(end, pieceEnd + _blockSize);
                }

                if (entry == Absent)
                {
                    var n = await _lower.GetExtentsAsync(offset, pieceEnd - offset, below.AsMemory(0, LowerExtents), cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < n && count < extents.Length; i++)
                    {
                        count = Append(extents.Span, count, below[i]);
                    }
                }
                else
                {
                    count = Append(extents.Span, count, new BlockExtent(offset, pieceEnd - offset, entry == Zeroed ? ExtentFlags.Zero : ExtentFlags.Data));
                }

                offset = extents.Span[count - 1].End;
            }

            return count;
        }
        finally
        {
            ArrayPool<BlockExtent>.Shared.Return(below);
        }
    }

    /// <summary>How many extents one question to the layer below may answer with.</summary>
    private const int LowerExtents = 16;

    private static int Kind(int entry) => Math.Sign(entry);

    private static int Append(Span<BlockExtent> extents, int count, BlockExtent extent)
    {
        if (count > 0 && extents[count - 1].Flags == extent.Flags && extents[count - 1].End == extent.Offset)
        {
            extents[count - 1] = extents[count - 1] with { Length = extents[count - 1].Length + extent.Length };
            return count;
        }

        extents[count] = extent;
        return count + 1;
    }

    /// <summary>Drops the client's writes (the store is disposed); the lower layer belongs to whoever shares it.</summary>
    public ValueTask DisposeAsync()
    {
        _store.Dispose();
        _lock.Dispose();
        _reuseGate.Dispose();
        return default;
    }
}
