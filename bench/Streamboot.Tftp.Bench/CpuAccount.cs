using System.Diagnostics;
using System.Globalization;

namespace Streamboot.Tftp.Bench;

/// <summary>
/// CPU time of a server and every process it forks. tftpd-hpa serves each
/// transfer from a child it never waits for (SIGCHLD ignored), so the
/// parent's /proc counters miss it; a cgroup v1 cpuacct group counts every
/// task that ran in it, exited ones too. Without cgroups (not root), falls
/// back to the process's own /proc/PID/stat (and says so).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class CpuAccount
{
    private const string Root = "/sys/fs/cgroup/cpuacct";
    private readonly string? _group;
    private readonly int _pid;

    private CpuAccount(int pid, string? group)
    {
        _pid = pid;
        _group = group;
    }

    public static string How { get; private set; } = "user + system";

    public static CpuAccount Create(Process process)
    {
        var group = Path.Combine(Root, $"streamboot-tftp-bench-{process.Id}");
        try
        {
            Directory.CreateDirectory(group);
            File.WriteAllText(Path.Combine(group, "cgroup.procs"), process.Id.ToString(CultureInfo.InvariantCulture));
            How = "cgroup cpuacct.usage: the server and every process it forked";
            return new CpuAccount(process.Id, group);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            How = "/proc/PID/stat of the server process only: tftpd-hpa's forked transfers are missing (run as root for cgroups)";
            return new CpuAccount(process.Id, null);
        }
    }

    /// <summary>Deletes the group once its processes are gone.</summary>
    public static void Remove(int pid)
    {
        try
        {
            Directory.Delete(Path.Combine(Root, $"streamboot-tftp-bench-{pid}"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    public double Seconds()
    {
        if (_group is not null)
        {
            return long.Parse(File.ReadAllText(Path.Combine(_group, "cpuacct.usage")).Trim(), CultureInfo.InvariantCulture) / 1e9;
        }

        // utime and stime are fields 14 and 15; fields[0] below is field 3.
        var stat = File.ReadAllText($"/proc/{_pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}
