using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Streamboot.Storage.Native;

/// <summary>
/// The Linux calls .NET does not expose: hole punching (fallocate(2)),
/// hole/data discovery (lseek(2) SEEK_DATA/SEEK_HOLE), fdatasync(2),
/// which skips the inode timestamp write that fsync would add to every flush,
/// and read-only file mappings (mmap(2)) for mapped reads.
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

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint MMap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int MUnmap(nint address, nuint length);

    /// <summary>mmap(2) of a file, PROT_READ and MAP_SHARED (it sees every write to the file); 0 on failure.</summary>
    public static nint MapShared(SafeFileHandle handle, long length)
    {
        const int ProtRead = 1;
        const int MapSharedFlag = 1;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var address = MMap(0, (nuint)length, ProtRead, MapSharedFlag, (int)handle.DangerousGetHandle(), 0);
            return address == -1 ? 0 : address;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public static void Unmap(nint address, long length) => MUnmap(address, (nuint)length);

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

    /// <summary>
    /// fsync(2) of a folder: a rename into it (or a file created in it)
    /// survives a crash only once the folder itself is on disk.
    /// </summary>
    public static void FlushFolder(string folder)
    {
        // O_RDONLY opens a folder too (O_DIRECTORY's value differs between architectures).
        const int ReadOnly = 0;
        var fd = Open(folder, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"{folder}: cannot open the folder to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"{folder}: fsync failed with errno {Marshal.GetLastPInvokeError()}.");
            }
        }
        finally
        {
            Close(fd);
        }
    }
}
