using Microsoft.Win32.SafeHandles;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Native;

namespace Streamboot.Storage.WriteCaches;

/// <summary>
/// Blocks in a sparse file on the server's disk, slot N at N × block size.
/// Freed slots are reused first and their space is punched out, so the file
/// stays as small as the data the client really keeps. The file is created
/// new and, unless <c>keep</c> is set (persistent caches), deleted on dispose.
/// </summary>
public sealed class FileOverlayStore : IOverlayStore
{
    private readonly SafeFileHandle _handle;
    private readonly int _blockSize;
    private readonly long _maxBytes;
    private readonly bool _keep;
    private readonly Stack<int> _free = new();
    private readonly Lock _lock = new();
    private int _nextSlot;
    private int _used;

    public FileOverlayStore(string path, int blockSize, long maxBytes = long.MaxValue, bool keep = false)
    {
        Path = path;
        _blockSize = blockSize;
        _maxBytes = maxBytes;
        _keep = keep;
        _handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
    }

    public string Path { get; }

    public long BytesUsed => (long)Volatile.Read(ref _used) * _blockSize;

    public int Allocate()
    {
        lock (_lock)
        {
            if ((long)(_used + 1) * _blockSize > _maxBytes)
            {
                throw new BlockDeviceException(BlockDeviceError.NoSpace, $"{Path}: the write cache is full ({_maxBytes} bytes).");
            }

            _used++;
            return _free.TryPop(out var slot) ? slot : _nextSlot++;
        }
    }

    public void Free(int slot)
    {
        _ = LibC.Fallocate(_handle, LibC.FallocPunchHole | LibC.FallocKeepSize, (long)slot * _blockSize, _blockSize);
        lock (_lock)
        {
            _used--;
            _free.Push(slot);
        }
    }

    public void Read(int slot, int offsetInBlock, Span<byte> destination)
    {
        var offset = ((long)slot * _blockSize) + offsetInBlock;
        while (!destination.IsEmpty)
        {
            var n = RandomAccess.Read(_handle, destination, offset);
            if (n == 0)
            {
                destination.Clear();
                return;
            }

            destination = destination[n..];
            offset += n;
        }
    }

    public void Write(int slot, int offsetInBlock, ReadOnlySpan<byte> source)
    {
        try
        {
            RandomAccess.Write(_handle, source, ((long)slot * _blockSize) + offsetInBlock);
        }
        catch (IOException e) when (e is not BlockDeviceException)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, $"{Path}: write failed: {e.Message}", e);
        }
    }

    public void Flush() => LibC.DataSync(_handle, Path);

    public void Dispose()
    {
        _handle.Dispose();
        if (!_keep)
        {
            File.Delete(Path);
        }
    }
}
