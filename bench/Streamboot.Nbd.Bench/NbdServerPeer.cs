using System.Diagnostics;
using System.Globalization;

namespace Streamboot.Nbd.Bench;

/// <summary>
/// nbd-server (Debian's <c>nbd-server</c>) as a peer: the same image as a
/// read-only export named <see cref="Export"/>, from a config file in the
/// bench's temporary folder. It always detaches (<c>-d</c>, "do not fork",
/// serves one connection at a time and hung nbdcopy's four), so the bench
/// starts it, waits for the launcher to exit and finds the daemon by the
/// config path on its command line.
/// </summary>
internal static class NbdServerPeer
{
    /// <summary>The export's name (the config section).</summary>
    public const string Export = "bench";

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
            if (Daemon(config) is { } pid)
            {
                return Process.GetProcessById(pid);
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"no nbd-server process runs {config}");
    }

    /// <summary>
    /// The daemon running <paramref name="config"/> (a path unique to this run): by
    /// /proc/PID/cmdline, not by its pid file, which is one path for every
    /// nbd-server on the machine (another bench may run its own at the same time).
    /// </summary>
    private static int? Daemon(string config)
    {
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var command = File.ReadAllText(Path.Combine(folder, "cmdline")).Split('\0');
                if (command.Length > 2 && Path.GetFileName(command[0]) == "nbd-server" && command.Contains(config, StringComparer.Ordinal))
                {
                    return pid;
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return null;
    }
}
