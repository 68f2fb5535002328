using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Streamboot.Storage.Stacks;

/// <summary>
/// Which file a path named at one moment: device, inode, change and birth
/// times, from statx(2). A vDisk deleted and imported again under its name
/// lands at the same path, often with the same inode number (ext4 reuses
/// them), but never with the same change time: a cache keyed by this can
/// not hand the new file's readers the old file's blocks.
/// </summary>
public readonly partial record struct FileIdentity(ulong Device, ulong Inode, long ChangeTimeNs, long BirthTimeNs)
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;
    private const uint StatxBirthTime = 0x800;
    private const int StatxSize = 256;

    /// <summary>The identity of the file at <paramref name="path"/> now; IOException when it cannot be read.</summary>
    public static FileIdentity Of(string path)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        int result;
        unsafe
        {
            fixed (byte* p = buffer)
            {
                result = Statx(AtFdCwd, path, 0, StatxBasicStats | StatxBirthTime, p);
            }
        }

        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot read the identity of {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        // struct statx (linux/stat.h), the same on every architecture.
        var mask = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]);
        var birth = (mask & StatxBirthTime) != 0 ? Nanoseconds(buffer[80..]) : 0;
        var change = Nanoseconds(buffer[96..]);
        var device = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(buffer[136..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(buffer[140..]);
        return new FileIdentity(device, inode, change, birth);
    }

    private static long Nanoseconds(ReadOnlySpan<byte> timestamp) =>
        (BinaryPrimitives.ReadInt64LittleEndian(timestamp) * 1_000_000_000L) + BinaryPrimitives.ReadUInt32LittleEndian(timestamp[8..]);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);
}
