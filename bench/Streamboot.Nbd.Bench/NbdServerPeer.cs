using System.Diagnostics;
using System.Globalization;

namespace Streamboot.Nbd.Bench;

/// <summary>
/// nbd-server (Debian's <c>nbd-server</c>) as a peer: the same image as a
/// read-only export named <see cref="Export"/>, from a config file in the
/// bench's temporary folder. It always detaches (<c>-d</c>, "do not fork",
/// serves one connection at a time and hung nbdcopy's four), so the bench
/// starts it, waits for the launcher to exit and takes the daemon's PID from
/// the pid file it writes, checking that the PID runs this config.
/// </summary>
internal static class NbdServerPeer
{
    /// <summary>The export's name (the config section).</summary>
    public const string Export = "bench";

    private const string PidFile = "/run/nbd-server.pid";

    /// <summary>The config file for a read-only export of <paramref name="image"/> on 127.0.0.1:<paramref name="port"/>, and the command line.</summary>
    public static (string File, string[] Args) Command(int port, string image, string folder)
    {
        var config = Path.Combine(folder, $"nbd-server-{port.ToString(CultureInfo.InvariantCulture)}.conf");
        File.WriteAllText(config, $"""
            [generic]
                listenaddr = 127.0.0.1
                port = {port.ToString(CultureInfo.InvariantCulture)}
            [{Export}]
                exportname = {image}
                readonly = true

            """);
        var program = new[] { "/usr/bin/nbd-server", "/bin/nbd-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nbd-server is not installed: install Debian's 'nbd-server' package");
        return (program, ["-C", config]);
    }

    /// <summary>Starts the daemon and returns it (a process this bench started, through the launcher it forked from).</summary>
    public static async Task<Process> StartAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using (var launcher = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}"))
        {
            var output = launcher.StandardError.ReadToEndAsync();
            await launcher.WaitForExitAsync();
            if (launcher.ExitCode != 0)
            {
                throw new InvalidOperationException($"nbd-server {string.Join(' ', arguments)} exited {launcher.ExitCode}: {await output}");
            }
        }

        var config = arguments[^1];
        for (var i = 0; i < 100; i++)
        {
            if (File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains(config, StringComparison.Ordinal))
            {
                return Process.GetProcessById(pid);
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"nbd-server with {config} wrote no pid to {PidFile}");
    }
}
