using Microsoft.Win32.SafeHandles;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Native;

namespace Streamboot.Storage.Formats.Raw;

/// <summary>
/// A raw image file as the bottom layer of a stack: pread/pwrite through
/// <see cref="RandomAccess"/> (thread-safe, no shared file position), trim
/// punches holes, extents come from SEEK_DATA/SEEK_HOLE, flush is fdatasync.
/// </summary>
/// <remarks>
/// Reads map (<see cref="IReadMapping"/>) to the same range of the file
/// through a read-only mapping of it (or, where the file cannot be mapped,
/// to the file range itself), so a protocol can send them from the page cache.
/// I/O is synchronous on purpose: a hot image is served from the page cache
/// in microseconds, and RandomAccess's async path on a regular file only
/// queues the same pread to the thread pool at the cost of an allocation and
/// two context switches per request (the nbdkit "parallel" thread model).
/// </remarks>
public sealed class RawBlockDevice : IBlockDevice, IReadMapping
{
    private readonly SafeFileHandle _handle;
    private readonly bool _readOnly;
    private FileMapping? _mapping;
    private int _mappingTried;

    private RawBlockDevice(string path, SafeFileHandle handle, long size, bool readOnly)
    {
        Path = path;
        _handle = handle;
        Size = size;
        _readOnly = readOnly;
    }

    public string Path { get; }

    public long Size { get; }

    public BlockDeviceCapabilities Capabilities => _readOnly
        ? BlockDeviceCapabilities.ReadOnly | BlockDeviceCapabilities.CanExtents | BlockDeviceCapabilities.CanMultiConn
        : BlockDeviceCapabilities.CanTrim | BlockDeviceCapabilities.CanZero | BlockDeviceCapabilities.CanFua
          | BlockDeviceCapabilities.CanFlush | BlockDeviceCapabilities.CanExtents | BlockDeviceCapabilities.CanMultiConn;

    /// <summary>Opens an existing raw image; its virtual size is the file's length.</summary>
    public static RawBlockDevice Open(string path, bool readOnly)
    {
        var handle = File.OpenHandle(
            path,
            FileMode.Open,
            readOnly ? FileAccess.Read : FileAccess.ReadWrite,
            // A writer holds the file exclusively (flock on Linux): a private
            // image booted twice, or a version in use being merged, fails to
            // open instead of being written by two owners.
            readOnly ? FileShare.ReadWrite : FileShare.None);
        try
        {
            return new RawBlockDevice(path, handle, RandomAccess.GetLength(handle), readOnly);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, buffer.Length);
        Read(offset, buffer.Span);
        return default;
    }

    public bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        count = 0;
        // Through the mapping the sender's one copy lands in the socket and the
        // receiver gets ordinary buffers; with sendfile the kernel attaches page-
        // cache pages, which costs a receiver on this machine (loopback) more
        // than the copy saves (bench/README.md).
        var mapping = Mapping();
        var segment = mapping is not null ? ReadSegment.FromMapping(mapping, offset, length) : ReadSegment.FromFile(_handle, offset, length);
        return ReadSegment.TryAppend(segments, ref count, segment);
    }

    /// <summary>The file's mapping, made on first use; null when the file cannot be mapped.</summary>
    private FileMapping? Mapping()
    {
        if (Volatile.Read(ref _mapping) is { } mapping)
        {
            return mapping;
        }

        if (Interlocked.Exchange(ref _mappingTried, 1) == 0)
        {
            Volatile.Write(ref _mapping, FileMapping.TryCreate(_handle, Size));
        }

        return Volatile.Read(ref _mapping);
    }

    /// <summary>Synchronous pread of the whole span (the file never ends before <see cref="Size"/>).</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        try
        {
            while (!buffer.IsEmpty)
            {
                var n = RandomAccess.Read(_handle, buffer, offset);
                if (n == 0)
                {
                    // Someone truncated the file under us: what is gone reads as zeroes.
                    buffer.Clear();
                    return;
                }

                buffer = buffer[n..];
                offset += n;
            }
        }
        catch (IOException e) when (e is not BlockDeviceException)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, $"{Path}: read at {offset} failed: {e.Message}", e);
        }
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, data.Length);
        try
        {
            RandomAccess.Write(_handle, data.Span, offset);
        }
        catch (IOException e)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, $"{Path}: write at {offset} failed: {e.Message}", e);
        }

        if ((flags & WriteFlags.ForceUnitAccess) != 0)
        {
            Sync();
        }

        return default;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (!_readOnly)
        {
            Sync();
        }

        return default;
    }

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        Zero(offset, length, LibC.FallocPunchHole | LibC.FallocKeepSize, flags);
        return default;
    }

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        var mode = (flags & WriteFlags.MayTrim) != 0
            ? LibC.FallocPunchHole | LibC.FallocKeepSize
            : LibC.FallocZeroRange | LibC.FallocKeepSize;
        Zero(offset, length, mode, flags);
        return default;
    }

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        return new ValueTask<int>(GetExtents(offset, length, extents.Span));
    }

    /// <summary>Walks SEEK_DATA/SEEK_HOLE; a file system without them reports one data extent.</summary>
    public int GetExtents(long offset, long length, Span<BlockExtent> extents)
    {
        var end = offset + length;
        var count = 0;
        while (offset < end && count < extents.Length)
        {
            var data = LibC.Seek(_handle, offset, LibC.SeekData);
            if (data == -LibC.Enxio)
            {
                data = Size; // no data after offset: the rest is a hole
            }
            else if (data < 0)
            {
                extents[count++] = new BlockExtent(offset, end - offset, ExtentFlags.Data);
                break;
            }

            if (data > offset)
            {
                var holeEnd = Math.Min(data, end);
                extents[count++] = new BlockExtent(offset, holeEnd - offset, ExtentFlags.Hole | ExtentFlags.Zero);
                offset = holeEnd;
                continue;
            }

            var hole = LibC.Seek(_handle, offset, LibC.SeekHole);
            var dataEnd = hole < 0 ? end : Math.Min(hole, end);
            extents[count++] = new BlockExtent(offset, dataEnd - offset, ExtentFlags.Data);
            offset = dataEnd;
        }

        return count;
    }

    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _mappingTried, 1);
        Volatile.Read(ref _mapping)?.Dispose();
        _handle.Dispose();
        return default;
    }

    private void Zero(long offset, long length, int mode, WriteFlags flags)
    {
        if (length == 0)
        {
            return;
        }

        if (LibC.Fallocate(_handle, mode, offset, length) != 0)
        {
            // No hole punching here (tmpfs of old kernels, some network file
            // systems): zeroes written by hand have the same meaning.
            WriteZeroBuffers(offset, length);
        }

        if ((flags & WriteFlags.ForceUnitAccess) != 0)
        {
            Sync();
        }
    }

    private void WriteZeroBuffers(long offset, long length)
    {
        ReadOnlySpan<byte> zeroes = new byte[(int)Math.Min(length, 1 << 20)];
        while (length > 0)
        {
            var n = (int)Math.Min(length, zeroes.Length);
            RandomAccess.Write(_handle, zeroes[..n], offset);
            offset += n;
            length -= n;
        }
    }

    private void Sync()
    {
        try
        {
            LibC.DataSync(_handle, Path);
        }
        catch (IOException e) when (e is not BlockDeviceException)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, e.Message, e);
        }
    }

    private void ThrowIfReadOnly()
    {
        if (_readOnly)
        {
            throw new BlockDeviceException(BlockDeviceError.ReadOnly, $"{Path} is open read-only.");
        }
    }
}
