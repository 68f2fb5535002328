using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Streamboot.Vms.Qemu;

/// <summary>
/// Whether KVM can run a guest here, found by trying it. /dev/kvm existing
/// proves little: on some hosts (nested virtualisation, see DESIGN.md)
/// QEMU aborts on an MSR with <c>-cpu host</c> or hangs after the BIOS with
/// other models. So the probe boots a 512-byte boot sector under KVM with
/// the CPU model VMs get and waits for it to print on the serial port. The
/// answer is kept in a file under /run (or the temp folder) until the host
/// reboots or QEMU changes, since a probe costs up to a few seconds.
/// </summary>
public static class KvmProbe
{
    private const string Marker = "SBKVM-OK";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(6);

    /// <summary>
    /// A real-mode boot sector: print "SBKVM-OK\r\n" on COM1 (port 0x3f8)
    /// with <c>out</c>, then halt. 16-bit code at 0000:7C00:
    /// cli; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8;
    /// next: lodsb; test al,al; jz done; out dx,al; jmp next; done: hlt; jmp done.
    /// </summary>
    private static readonly byte[] s_code =
    [
        0xFA, 0x31, 0xC0, 0x8E, 0xD8, 0xBE, 0x16, 0x7C, 0xBA, 0xF8, 0x03,
        0xAC, 0x84, 0xC0, 0x74, 0x03, 0xEE, 0xEB, 0xF8, 0xF4, 0xEB, 0xFD,
    ];

    public sealed record Result(bool Usable, string Reason);

    /// <summary>The cached answer, or a fresh probe.</summary>
    public static async Task<Result> ProbeAsync(string qemu, CancellationToken cancellationToken = default)
    {
        var key = CacheKey(qemu);
        var cache = CacheFile();
        try
        {
            if (File.Exists(cache) && File.ReadAllText(cache).Split('\n', 3) is [var k, var usable, var reason] && k == key)
            {
                return new Result(usable == "usable", reason.Trim());
            }
        }
        catch (IOException)
        {
        }

        var result = await RunAsync(qemu, cancellationToken);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
            var partial = cache + ".partial" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            File.WriteAllText(partial, $"{key}\n{(result.Usable ? "usable" : "unusable")}\n{result.Reason}\n");
            File.Move(partial, cache, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not cached: the next start probes again.
        }

        return result;
    }

    internal static byte[] BootSector()
    {
        var sector = new byte[512];
        s_code.CopyTo(sector, 0);
        var message = Encoding.ASCII.GetBytes(Marker + "\r\n\0");
        message.CopyTo(sector, s_code.Length);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        return sector;
    }

    private static async Task<Result> RunAsync(string qemu, CancellationToken cancellationToken)
    {
        if (!File.Exists("/dev/kvm"))
        {
            return new Result(false, "there is no /dev/kvm (no hardware virtualisation, or the kvm module is not loaded)");
        }

        try
        {
            using var kvm = File.Open("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
        }
        catch (UnauthorizedAccessException)
        {
            return new Result(false, "/dev/kvm cannot be opened (add your user to the kvm group)");
        }
        catch (IOException e)
        {
            return new Result(false, $"/dev/kvm cannot be opened: {e.Message}");
        }

        var image = Path.Combine(Path.GetTempPath(), $"streamboot-kvm-probe-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.img");
        await File.WriteAllBytesAsync(image, BootSector(), cancellationToken);
        var start = new ProcessStartInfo(qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "-accel", "kvm", "-cpu", "host", "-m", "16", "-nodefaults", "-display", "none", "-monitor", "none",
            "-serial", "stdio", "-no-reboot", "-drive", $"file={image},format=raw,if=floppy,readonly=on", "-boot", "a",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {qemu}");
        var output = new StringBuilder();
        var error = new StringBuilder();
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
                if (output.ToString().Contains(Marker, StringComparison.Ordinal))
                {
                    seen.TrySetResult();
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (error)
            {
                error.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Task.WhenAny(seen.Task, process.WaitForExitAsync(cancellationToken), Task.Delay(s_timeout, cancellationToken));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None);
            }

            File.Delete(image);
        }

        if (seen.Task.IsCompleted)
        {
            return new Result(true, "KVM runs a test guest");
        }

        string firstError;
        lock (error)
        {
            firstError = error.ToString().Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.Contains("warning", StringComparison.OrdinalIgnoreCase)) ?? "";
        }

        return new Result(false, firstError.Length > 0
            ? $"a test guest failed under KVM ({firstError})"
            : $"a test guest did not run under KVM in {s_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (nested virtualisation that does not work)");
    }

    private static string CacheFile()
    {
        var folder = Directory.Exists("/run") && Environment.UserName == "root" ? "/run/streamboot" : Path.Combine(Path.GetTempPath(), $"streamboot-{Environment.UserName}");
        return Path.Combine(folder, "kvm-probe");
    }

    private static string CacheKey(string qemu)
    {
        string bootId;
        try
        {
            bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (IOException)
        {
            bootId = "?";
        }

        return $"{bootId} {qemu} {File.GetLastWriteTimeUtc(qemu).Ticks.ToString(CultureInfo.InvariantCulture)}";
    }
}
