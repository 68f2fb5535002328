using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Streamboot.Storage.Native;

/// <summary>
/// The Linux calls .NET does not expose: hole punching (fallocate(2)),
/// hole/data discovery (lseek(2) SEEK_DATA/SEEK_HOLE) and fdatasync(2),
/// which skips the inode timestamp write that fsync would add to every flush.
/// </summary>
internal static partial class LibC
{
    public const int FallocKeepSize = 0x01;
    public const int FallocPunchHole = 0x02;
    public const int FallocZeroRange = 0x10;
    public const int SeekData = 3;
    public const int SeekHole = 4;
    public const int Enxio = 6;

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int FAllocate(int fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LSeek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(int fd);

    /// <summary>fallocate(2); returns 0 or the errno.</summary>
    public static int Fallocate(SafeFileHandle handle, int mode, long offset, long length)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return FAllocate((int)handle.DangerousGetHandle(), mode, offset, length) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>lseek(2) with SEEK_DATA or SEEK_HOLE; returns the offset or -errno.</summary>
    public static long Seek(SafeFileHandle handle, long offset, int whence)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var result = LSeek((int)handle.DangerousGetHandle(), offset, whence);
            return result >= 0 ? result : -Marshal.GetLastPInvokeError();
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>fdatasync(2); throws on failure because a lost flush must never look like success.</summary>
    public static void DataSync(SafeFileHandle handle, string path)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (FDataSync((int)handle.DangerousGetHandle()) != 0)
            {
                throw new IOException($"{path}: fdatasync failed with errno {Marshal.GetLastPInvokeError()}.");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
