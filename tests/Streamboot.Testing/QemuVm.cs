using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Streamboot.Testing;

/// <summary>
/// A QEMU virtual machine for boot tests: no disk unless given one, its NIC
/// on a tap of a <see cref="BootNetwork"/>, its serial console collected.
/// Plain emulation (TCG): KVM on this kind of machine cannot run iPXE or a
/// Linux kernel (see DESIGN.md). Killed by its own PID when disposed.
/// The serial port is a unix socket the test connects to before the guest
/// starts (QEMU waits for it): what comes down it is the console (also
/// written to a file for post-mortems), what goes up is what a test types
/// (<see cref="SendLineAsync"/>, <see cref="RunAsync"/>). QEMU's own
/// chardev log file is not used: when the socket is briefly full, QEMU 7.2
/// logs a character and then logs it again on the retry, which garbled
/// markers ("SB-DDONE") under load.
/// </summary>
public sealed class QemuVm : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _console = new();
    private readonly StringBuilder _serialText = new();
    private readonly List<(int End, double Seconds)> _arrivals = [];
    private readonly string _consoleFile;
    private readonly string _serialSocket;
    private readonly SemaphoreSlim _serialLock = new(1, 1);
    private Socket? _serial;
    private Task? _drain;
    private int _commands;
    private bool _disposed;

    private QemuVm(Process process, string consoleFile, string serialSocket)
    {
        _process = process;
        _consoleFile = consoleFile;
        _serialSocket = serialSocket;
    }

    /// <summary>When QEMU was started, for boot times.</summary>
    public Stopwatch SinceStart { get; } = Stopwatch.StartNew();

    public bool HasExited => _process.HasExited;

    /// <summary>The console so far, with terminal escape sequences removed.</summary>
    public string Console
    {
        get
        {
            string text;
            lock (_serialText)
            {
                text = _serialText.ToString();
            }

            return Regex.Replace(text, @"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>cM]|\r", "");
        }
    }

    public string Mac { get; private init; } = "";

    /// <summary>
    /// Seconds from QEMU's start until the console had shown
    /// <paramref name="text"/> (its first occurrence, as received from the
    /// serial port), or null when it has not; for boot timelines.
    /// </summary>
    public double? SecondsUntilSeen(string text)
    {
        lock (_serialText)
        {
            var at = _serialText.ToString().IndexOf(text, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var end = at + text.Length;
            foreach (var (chunkEnd, seconds) in _arrivals)
            {
                if (chunkEnd >= end)
                {
                    return seconds;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Starts a VM in the network's namespace. <paramref name="extra"/> adds
    /// QEMU arguments (a CD-ROM, a disk, another boot order).
    /// </summary>
    public static async Task<QemuVm> StartAsync(BootNetwork network, string mac, string folder, IEnumerable<string>? extra = null, string nic = "e1000", int memoryMiB = 256)
    {
        var qemu = ProcessRunner.Find("qemu-system-x86_64")
            ?? throw new InvalidOperationException("qemu-system-x86_64 is not installed; apt-get install qemu-system-x86 ipxe-qemu (test.sh installs them)");
        var tap = await network.AddTapAsync();
        var console = Path.Combine(folder, $"console-{mac.Replace(':', '-')}-{tap}.log");
        var serial = Path.Combine(folder, $"serial-{mac.Replace(':', '-')}-{tap}.sock");
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
            // A socket for input and output; QEMU waits for the test to connect to it.
            "-chardev", $"socket,id=serial0,path={serial},server=on,wait=on",
            "-serial", "chardev:serial0",
            "-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no",
            "-device", $"{nic},netdev=n0,mac={mac}",
        }.Concat(extra ?? ["-boot", "n"]))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start qemu");
        var vm = new QemuVm(process, console, serial) { Mac = mac };
        process.OutputDataReceived += (_, e) => vm.Append(e.Data);
        process.ErrorDataReceived += (_, e) => vm.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await vm.ConnectSerialAsync();
        }
        catch
        {
            await vm.DisposeAsync();
            throw;
        }

        return vm;
    }

    private async Task ConnectSerialAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(_serialSocket));
                _serial = socket;
                _drain = DrainAsync(socket);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                socket.Dispose();
                await Task.Delay(50);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new InvalidOperationException($"cannot connect to the VM's serial socket {_serialSocket}: {e.Message}\nQEMU: {QemuOutput}");
            }
        }
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

    /// <summary>
    /// Waits until the console shows <paramref name="text"/> and the rest of
    /// its line (the console arrives as the serial port sends it, so a line
    /// may be half there); returns what follows the text on its last showing.
    /// </summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout)
    {
        await WaitForAsync(text, timeout);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var console = Console;
            var at = console.LastIndexOf(text, StringComparison.Ordinal) + text.Length;
            var end = console.IndexOf('\n', at);
            if (end >= 0)
            {
                return console[at..end];
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the console showed '{text}' but not the end of its line. Console:\n{Tail(console)}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Types <paramref name="line"/> and Enter on the serial console.</summary>
    public async Task SendLineAsync(string line)
    {
        await _serialLock.WaitAsync();
        try
        {
            await _serial!.SendAsync(Encoding.UTF8.GetBytes(line + "\n"));
        }
        finally
        {
            _serialLock.Release();
        }
    }

    /// <summary>
    /// Runs a shell command on the VM's serial console and returns what it
    /// printed. The markers are split by quotes in the typed line, so only
    /// the shell's own output matches them. Fails if the command fails
    /// unless <paramref name="check"/> is false.
    /// </summary>
    public async Task<string> RunAsync(string command, TimeSpan? timeout = null, bool check = true)
    {
        var id = Interlocked.Increment(ref _commands);
        var begin = $"SB-BEGIN-{id}\n";
        var done = $"SB-DONE-{id}:";
        await SendLineAsync($"echo \"SB-BEGIN\"\"-{id}\"; {command}; echo \"SB-DONE\"\"-{id}:$?\"");
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        await WaitForAsync(done, limit);
        var text = Console;
        var end = text.IndexOf(done, StringComparison.Ordinal);
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        while (text.IndexOf('\n', end) < 0)
        {
            await Task.Delay(100);
            text = Console;
        }

        var output = start >= 0 && start < end ? text[(start + begin.Length)..end] : "";
        var status = text[(end + done.Length)..text.IndexOf('\n', end)].Trim();
        if (check && status != "0")
        {
            throw new InvalidOperationException($"'{command}' exited {status} on the VM:\n{output}");
        }

        return output;
    }

    /// <summary>Waits until QEMU exits (the guest powered off or rebooted: QEMU runs with -no-reboot).</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"QEMU did not exit in {timeout.TotalSeconds} s. Console:\n{Tail(Console)}");
        }
    }

    private async Task DrainAsync(Socket socket)
    {
        var buffer = new byte[16384];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        var decoder = Encoding.UTF8.GetDecoder();
        await using var file = new FileStream(_consoleFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer)) > 0)
            {
                var count = decoder.GetChars(buffer, 0, read, chars, 0);
                lock (_serialText)
                {
                    _serialText.Append(chars, 0, count);
                    _arrivals.Add((_serialText.Length, SinceStart.Elapsed.TotalSeconds));
                }

                await file.WriteAsync(buffer.AsMemory(0, read));
                await file.FlushAsync();
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Pulls the plug: QEMU is killed, the guest gets no shutdown and closes no connection.</summary>
    public async Task PowerOffAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Stops the VM; a test may stop one early that its site also disposes at the end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _serial?.Dispose();
        if (_drain is not null)
        {
            await _drain;
        }

        _serialLock.Dispose();
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
