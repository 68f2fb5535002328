using System.Globalization;

namespace Streamboot.Testing;

/// <summary>A process as the kernel counts it (/proc/PID/status): resident memory and threads.</summary>
public static class ProcStatus
{
    /// <summary>VmRSS: resident memory, in bytes.</summary>
    public static long ResidentBytes(int pid) => Field(pid, "VmRSS:") * 1024;

    public static int Threads(int pid) => (int)Field(pid, "Threads:");

    private static long Field(int pid, string name)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return long.Parse(line[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {name}");
    }
}
