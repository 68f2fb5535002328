using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Streamboot.Cli.Commands;

/// <summary>
/// Runs client/demo/demo.sh in the foreground with this terminal, and stays
/// until it has cleaned up: Ctrl+C reaches the script too (same process
/// group), so this process only waits for it; SIGTERM and SIGHUP are passed
/// on as SIGTERM.
/// </summary>
internal static class DemoRunner
{
    /// <summary>client/demo/demo.sh of the checkout this binary was built from (artifacts/cli/ sits in it), or null.</summary>
    public static string? FindScript()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var script = Path.Combine(folder.FullName, "client", "demo", "demo.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }

        return null;
    }

    public static async Task<int> RunAsync(string script, string? data, int timeoutSeconds, bool check, CancellationToken cancellationToken)
    {
        var binary = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell this program's path");
        var start = new ProcessStartInfo("bash") { UseShellExecute = false };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("--bin");
        start.ArgumentList.Add(binary);
        start.ArgumentList.Add("--timeout");
        start.ArgumentList.Add(timeoutSeconds.ToString(CultureInfo.InvariantCulture));
        if (data is not null)
        {
            start.ArgumentList.Add("--data");
            start.ArgumentList.Add(Path.GetFullPath(data));
        }

        if (check)
        {
            start.ArgumentList.Add("--check");
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start bash");

        // Ctrl+C: the terminal sends SIGINT to the script as well; wait for its cleanup.
        void OnCancel(object? sender, ConsoleCancelEventArgs e) => e.Cancel = true;
        Console.CancelKeyPress += OnCancel;
        void Forward(PosixSignalContext context)
        {
            context.Cancel = true;
            if (!process.HasExited)
            {
                // Process.Kill is SIGKILL, which would skip the script's cleanup.
                using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
                kill?.WaitForExit();
            }
        }

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward);
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Forward);
        try
        {
            // The script has its own time limit; this token is not used to stop it early.
            await process.WaitForExitAsync(CancellationToken.None);
            return process.ExitCode;
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
            _ = cancellationToken;
        }
    }
}
