using System.Globalization;

namespace Streamboot.Vms.Host;

/// <summary>What the host can give a VM: its CPUs and its memory.</summary>
public static class HostResources
{
    /// <summary>Logical CPUs this process may run on (affinity and cgroup limits count).</summary>
    public static int LogicalCpus => Environment.ProcessorCount;

    /// <summary>MemTotal of /proc/meminfo, in bytes; null where it cannot be read.</summary>
    public static long? MemoryBytes => ReadMeminfo("MemTotal:");

    /// <summary>MemAvailable of /proc/meminfo, in bytes: what can be had without swapping.</summary>
    public static long? AvailableMemoryBytes => ReadMeminfo("MemAvailable:");

    internal static long? ReadMeminfo(string key, string path = "/proc/meminfo")
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    var fields = line[key.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length >= 1 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
                    {
                        return kib * 1024;
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}
