using System.Globalization;

namespace Streamboot.Vms.Qemu;

/// <summary>
/// A VM's TPM 2.0: swtpm (Debian's <c>swtpm</c>) on a unix socket in the
/// VM's folder, its state in <see cref="VmFolder.TpmState"/>. It starts
/// before QEMU and, with <c>--terminate</c>, ends when QEMU closes its
/// connection, so it lives exactly as long as the VM.
/// </summary>
public static class Swtpm
{
    public const string Program = "swtpm";

    private static readonly TimeSpan s_ready = TimeSpan.FromSeconds(10);

    public static string? Missing() => ExternalProgram.Find(Program) is null ? "swtpm is not installed; apt-get install swtpm swtpm-tools (or make the VM without a TPM: --no-tpm)" : null;

    /// <summary>Starts swtpm for the VM; null, or why it could not in one line.</summary>
    public static async Task<string?> StartAsync(VmFolder folder, CancellationToken cancellationToken = default)
    {
        var swtpm = ExternalProgram.Find(Program);
        if (swtpm is null)
        {
            return Missing();
        }

        Stop(folder);
        Directory.CreateDirectory(folder.TpmState);
        File.Delete(folder.TpmSocket);
        File.Delete(folder.TpmPidFile);
        var (exit, output, error) = await ExternalProgram.RunAsync(
            swtpm,
            [
                "socket", "--tpm2",
                "--tpmstate", $"dir={folder.TpmState}",
                "--ctrl", $"type=unixio,path={folder.TpmSocket}",
                "--pid", $"file={folder.TpmPidFile}",
                "--log", $"file={folder.TpmLog},level=1",
                "--terminate", "--daemon",
            ],
            cancellationToken);
        if (exit != 0)
        {
            return $"swtpm did not start (exit {exit.ToString(CultureInfo.InvariantCulture)}): {string.Join(" ", (error + output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}";
        }

        // --daemon returns once it forked; the socket follows at once, or swtpm failed (its log says why).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(folder.TpmSocket))
        {
            if (clock.Elapsed > s_ready)
            {
                return $"swtpm made no socket {folder.TpmSocket} in {s_ready.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; see {folder.TpmLog}";
            }

            await Task.Delay(50, cancellationToken);
        }

        return null;
    }

    /// <summary>Ends the VM's swtpm if it still runs (QEMU never connected, or failed): the PID file's process, when its command line names the VM's socket.</summary>
    public static void Stop(VmFolder folder)
    {
        try
        {
            if (int.TryParse(File.ReadAllText(folder.TpmPidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
                && File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Contains(folder.TpmSocket, StringComparison.Ordinal))
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }
}
