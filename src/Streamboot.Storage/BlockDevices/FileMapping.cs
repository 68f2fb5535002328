using Microsoft.Win32.SafeHandles;
using Streamboot.Storage.Native;

namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// A read-only shared mapping (mmap(2)) of an image file, so that a mapped
/// read (<see cref="IReadMapping"/>) can name its bytes by address and a
/// protocol can send them straight from the page cache with one copy into
/// the socket (sendmsg), no buffer of its own in between.
/// </summary>
/// <remarks>
/// Only the kernel may read through an address it hands out (send, write):
/// if someone truncates the file under the mapping, a user-space read past
/// the new end raises SIGBUS and ends the process, while the kernel answers
/// EFAULT. Every use is bracketed by <see cref="Acquire"/> and
/// <see cref="Release"/>; <see cref="Dispose"/> unmaps once the last use is over.
/// </remarks>
public sealed class FileMapping : IDisposable
{
    private const int Disposed = 1 << 30;
    private readonly nint _address;
    private int _state; // uses in progress, plus Disposed once disposed

    private FileMapping(nint address, long length)
    {
        _address = address;
        Length = length;
    }

    public long Length { get; }

    /// <summary>
    /// Maps the first <paramref name="length"/> bytes of the file, which may be
    /// more than it holds now (bytes written later show through); null where
    /// that is not possible (nothing to map, no address space).
    /// </summary>
    internal static FileMapping? TryCreate(SafeFileHandle file, long length)
    {
        if (length <= 0 || !OperatingSystem.IsLinux())
        {
            return null;
        }

        var address = LibC.MapShared(file, length);
        return address == 0 ? null : new FileMapping(address, length);
    }

    /// <summary>The address of byte <paramref name="offset"/>, valid until the matching <see cref="Release"/>.</summary>
    public nint Acquire(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, Length);
        while (true)
        {
            var state = Volatile.Read(ref _state);
            ObjectDisposedException.ThrowIf((state & Disposed) != 0, this);
            if (Interlocked.CompareExchange(ref _state, state + 1, state) == state)
            {
                return _address + (nint)offset;
            }
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _state) == Disposed)
        {
            LibC.Unmap(_address, Length);
        }
    }

    public void Dispose()
    {
        var before = Interlocked.Or(ref _state, Disposed);
        if (before == 0)
        {
            LibC.Unmap(_address, Length);
        }
    }
}
