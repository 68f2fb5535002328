using System.Runtime.InteropServices;

namespace Streamboot.Cli;

/// <summary>
/// What Streamboot writes in its data folder (the database, write caches,
/// keys, VM disks) is the site's: nothing for other users of the machine to
/// read. Every verb runs with group and other write and other read masked
/// (umask 027: files 0640, folders 0750), as the systemd unit does.
/// </summary>
internal static partial class FileModes
{
    private const uint SiteMask = 0x17; // 027 octal

    public static void RestrictNewFiles()
    {
        if (OperatingSystem.IsLinux())
        {
            var old = Umask(SiteMask);
            Umask(old | SiteMask);
        }
    }

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint Umask(uint mask);
}
