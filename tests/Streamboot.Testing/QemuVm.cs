using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Streamboot.Testing;

/// <summary>
/// A QEMU virtual machine for boot tests: no disk unless given one, its NIC
/// on a tap of a <see cref="BootNetwork"/>, its serial console collected.
/// Plain emulation (TCG): KVM on this kind of machine cannot run iPXE or a
/// Linux kernel (see DESIGN.md). Killed by its own PID when disposed.
/// </summary>
public sealed class QemuVm : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _console = new();
    private readonly string _consoleFile;

    private QemuVm(Process process, string consoleFile)
    {
        _process = process;
        _consoleFile = consoleFile;
    }

    /// <summary>The console so far, with terminal escape sequences removed.</summary>
    public string Console
    {
        get
        {
            var text = File.Exists(_consoleFile) ? File.ReadAllText(_consoleFile) : "";
            return Regex.Replace(text, @"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>cM]|\r", "");
        }
    }

    public string Mac { get; private init; } = "";

    /// <summary>
    /// Starts a VM in the network's namespace. <paramref name="extra"/> adds
    /// QEMU arguments (a CD-ROM, a disk, another boot order).
    /// </summary>
    public static async Task<QemuVm> StartAsync(BootNetwork network, string mac, string folder, IEnumerable<string>? extra = null, string nic = "e1000", int memoryMiB = 256)
    {
        var qemu = ProcessRunner.Find("qemu-system-x86_64")
            ?? throw new InvalidOperationException("qemu-system-x86_64 is not installed; apt-get install qemu-system-x86 ipxe-qemu (test.sh installs them)");
        var tap = await network.AddTapAsync();
        var console = Path.Combine(folder, $"console-{mac.Replace(':', '-')}.log");
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "netns", "exec", network.Name, qemu,
            "-accel", "tcg", "-m", memoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-display", "none", "-monitor", "none", "-no-reboot",
            // No screen: SeaBIOS and iPXE then write their console to the serial port too.
            "-machine", "graphics=off",
            "-serial", $"file:{console}",
            "-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no",
            "-device", $"{nic},netdev=n0,mac={mac}",
        }.Concat(extra ?? ["-boot", "n"]))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start qemu");
        var vm = new QemuVm(process, console) { Mac = mac };
        process.OutputDataReceived += (_, e) => vm.Append(e.Data);
        process.ErrorDataReceived += (_, e) => vm.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return vm;
    }

    /// <summary>What QEMU itself printed (errors starting it).</summary>
    public string QemuOutput
    {
        get
        {
            lock (_console)
            {
                return _console.ToString();
            }
        }
    }

    /// <summary>Waits until the console shows <paramref name="text"/>; fails with the console when it does not in time.</summary>
    public async Task WaitForAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Console.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"QEMU exited ({_process.ExitCode}) before the console showed '{text}'.\nQEMU: {QemuOutput}\nConsole:\n{Tail(Console)}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the console did not show '{text}' in {timeout.TotalSeconds} s. Console:\n{Tail(Console)}");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // ip netns exec runs QEMU in place (exec), so this PID is QEMU's.
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_console)
            {
                _console.AppendLine(line);
            }
        }
    }
}
