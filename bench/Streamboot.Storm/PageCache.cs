using System.Runtime.InteropServices;

namespace Streamboot.Storm;

/// <summary>Drops files from the page cache (posix_fadvise DONTNEED), so the storm's first reads go to storage.</summary>
internal static partial class PageCache
{
    private const int PosixFadvDontNeed = 4;

    /// <summary>Evicts every page of each file (after fsync: dirty pages are not dropped).</summary>
    public static void Evict(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read);
            _ = fdatasync(handle.DangerousGetHandle().ToInt32());
            var error = posix_fadvise(handle.DangerousGetHandle().ToInt32(), 0, 0, PosixFadvDontNeed);
            if (error != 0)
            {
                throw new IOException($"posix_fadvise({file}) failed: {error}");
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_fadvise(int fd, long offset, long length, int advice);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);
}
