using System.Diagnostics;

namespace Streamboot.Iscsi.Bench;

/// <summary>Runs the programs the bench drives; a missing one stops it with the Debian package to install.</summary>
internal static class Tool
{
    public static string Find(string program, string package) =>
        new[] { "/usr/bin", "/usr/sbin", "/bin", "/sbin" }.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            .Select(f => Path.Combine(f, program)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{program} is not installed: install Debian's '{package}' package");

    public static async Task<string> RunAsync(string program, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["STREAMBOOT_DATA"] = null;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(cts.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stdout}{await stderr}");
        }

        return await stdout + await stderr;
    }

    /// <summary>Starts a long-running program; the caller kills it by its PID.</summary>
    public static Process Start(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
