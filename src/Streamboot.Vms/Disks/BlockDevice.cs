using System.Globalization;

namespace Streamboot.Vms.Disks;

/// <summary>
/// A physical disk (a block device of the host) given to a VM whole. The
/// kernel's view of it comes from sysfs: whether a path is a block device,
/// its size, and whether it or one of its partitions is mounted.
/// </summary>
public static class BlockDevice
{
    /// <summary>The kernel's name of the block device <paramref name="path"/> (after symbolic links: /dev/disk/by-id/... gives sdb), or null when it is not one.</summary>
    public static string? KernelName(string path)
    {
        string real;
        try
        {
            real = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
        }
        catch (IOException)
        {
            return null;
        }

        var name = Path.GetFileName(real);
        return real.StartsWith("/dev/", StringComparison.Ordinal) && name.Length > 0 && Directory.Exists($"/sys/class/block/{name}") ? name : null;
    }

    /// <summary>Its size in bytes (sysfs counts 512-byte sectors whatever the device's own).</summary>
    public static long? SizeBytes(string kernelName) =>
        long.TryParse(Read($"/sys/class/block/{kernelName}/size"), NumberStyles.None, CultureInfo.InvariantCulture, out var sectors) ? sectors * 512 : null;

    /// <summary>A mount of the device or of one of its partitions, as "/dev/X on /mountpoint"; null when none is mounted.</summary>
    public static string? Mounted(string kernelName)
    {
        var mounts = Read("/proc/self/mounts") ?? "";
        foreach (var line in mounts.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length < 2 || !fields[0].StartsWith("/dev/", StringComparison.Ordinal))
            {
                continue;
            }

            var mounted = KernelName(fields[0]);
            // A partition of the disk is a folder of the disk's sysfs entry.
            if (mounted is not null && (mounted == kernelName || Directory.Exists($"/sys/class/block/{kernelName}/{mounted}")))
            {
                return $"{fields[0]} on {fields[1].Replace("\\040", " ", StringComparison.Ordinal)}";
            }
        }

        return null;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
