using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Streamboot.Vms.Qemu;

namespace Streamboot.Vms;

/// <summary>
/// Starting, watching and stopping a VM's QEMU. QEMU runs detached
/// (<c>-daemonize</c>: it returns once the VM is set up, or fails there with
/// its own message) and outlives the command that started it, like a VM in
/// VMware Workstation outlives its window. What runs is found again from the
/// PID file, checked against /proc so a recycled PID is never taken for it.
/// </summary>
public static partial class VmRuntime
{
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_killGrace = TimeSpan.FromSeconds(5);

    // A wedged QEMU may accept the QMP connection and never answer: every
    // QMP exchange gets this long, then the stop goes on the hard way.
    private static readonly TimeSpan s_qmpTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Whether the VM in <paramref name="folder"/> runs now, and how it was started.</summary>
    public static VmRunState State(VmFolder folder)
    {
        if (RunningPid(folder) is not { } pid)
        {
            return VmRunState.Stopped;
        }

        string? accelerator = null;
        DateTime? started = null;
        try
        {
            if (JsonNode.Parse(File.ReadAllText(folder.RuntimeFile)) is JsonObject runtime && runtime["pid"]?.GetValue<int>() == pid)
            {
                accelerator = runtime["accelerator"]?.GetValue<string>();
                started = runtime["startedAt"]?.GetValue<DateTime>();
            }
        }
        catch (Exception e) when (e is IOException or JsonException or FormatException or InvalidOperationException)
        {
        }

        return new VmRunState(true, pid, accelerator, started);
    }

    /// <summary>
    /// Starts the VM. <paramref name="requested"/> Auto probes KVM and falls
    /// back to emulation with a note; Kvm fails when the probe does. Errors
    /// (a file gone, QEMU refusing its options) come back as one line.
    /// </summary>
    public static async Task<VmStartResult> StartAsync(VmHardware vm, VmFolder folder, Accelerator requested, CancellationToken cancellationToken = default)
    {
        if (RunningPid(folder) is { } running)
        {
            return VmStartResult.Failed($"VM '{vm.Name}' is already running (QEMU PID {running.ToString(CultureInfo.InvariantCulture)})", alreadyRunning: true);
        }

        var qemu = QemuSystem.Find();
        if (qemu is null)
        {
            return VmStartResult.Failed(QemuSystem.Missing()!);
        }

        foreach (var (what, file) in new[] { ("disk", vm.DiskFile), ("installer ISO", vm.InstallerIso), ("easy-install seed", vm.SeedFile) }.Concat(vm.Extra.Disks.Select(d => ("disk", (string?)d.File))))
        {
            if (file is not null && !File.Exists(file))
            {
                return VmStartResult.Failed($"the VM's {what} {file} is missing");
            }
        }

        OvmfFirmware? ovmf = null;
        if (vm.Firmware == VmFirmware.Uefi)
        {
            ovmf = OvmfFirmware.Find(vm.Extra.SecureBoot);
            if (ovmf is null)
            {
                return VmStartResult.Failed(vm.Extra.SecureBoot ? OvmfFirmware.MissingSecureBoot()! : OvmfFirmware.Missing()!);
            }

            if (!File.Exists(folder.UefiVars))
            {
                // The VM's NVRAM went missing: start from the template, as a board after a CMOS reset.
                File.Copy(ovmf.VarsTemplate, folder.UefiVars);
            }
        }

        var root = Environment.UserName == "root";
        var bridges = vm.Extra.Nics.Select((nic, i) => (Bridge: nic.Bridge, Index: i + 1)).Where(b => b.Bridge is not null).ToList();
        if (vm.Bridge is { } first && vm.Network is VmNetworkMode.Bridge or VmNetworkMode.Netboot)
        {
            bridges.Insert(0, (first, 0));
        }

        foreach (var (bridge, index) in bridges)
        {
            if (!Directory.Exists($"/sys/class/net/{bridge}/bridge"))
            {
                return VmStartResult.Failed($"there is no bridge '{bridge}' on this host (ip link add {bridge} type bridge), or it is in another network namespace");
            }

            if (root)
            {
                var ip = ExternalProgram.Find("ip") ?? "ip";
                var script = folder.BridgeScriptFor(index);
                await File.WriteAllTextAsync(script, $"#!/bin/sh\n# QEMU runs this with the VM's new tap device: put it on the bridge.\nset -e\n{ip} link set \"$1\" master {bridge}\n{ip} link set \"$1\" up\n", cancellationToken);
                ExternalProgram.SetMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var accelerator = requested;
        string? note = null;
        if (requested is Accelerator.Auto or Accelerator.Kvm)
        {
            var probe = await KvmProbe.ProbeAsync(qemu, cancellationToken);
            if (probe.Usable)
            {
                accelerator = Accelerator.Kvm;
            }
            else if (requested == Accelerator.Kvm)
            {
                return VmStartResult.Failed($"KVM is not usable: {probe.Reason}; start with --accel tcg (plain emulation) instead");
            }
            else
            {
                accelerator = Accelerator.Tcg;
                note = $"KVM is not usable here: {probe.Reason}; running under plain emulation (TCG), which is much slower";
            }
        }

        if (vm.Firmware == VmFirmware.Bios)
        {
            // COM1, as SeaBIOS reads the file: a little-endian integer.
            await File.WriteAllBytesAsync(folder.SerconPort, [0xf8, 0x03], cancellationToken);
        }

        // Each start gets a fresh console log; the one before is kept.
        if (File.Exists(folder.ConsoleLog))
        {
            File.Move(folder.ConsoleLog, folder.PreviousConsoleLog, overwrite: true);
        }

        foreach (var stale in new[] { folder.ConsoleSocket, folder.QmpSocket, folder.PidFile, folder.RuntimeFile }.Concat(Enumerable.Range(1, VmExtraHardware.MaxSerialPorts).Select(folder.SerialSocket)))
        {
            File.Delete(stale);
        }

        if (vm.Extra.Tpm && await Swtpm.StartAsync(folder, cancellationToken) is { } noTpm)
        {
            return VmStartResult.Failed(noTpm);
        }

        var arguments = QemuArguments.Build(vm, folder, accelerator, ovmf, root);
        var (exit, output, error) = await ExternalProgram.RunAsync(qemu, arguments, cancellationToken);
        if (exit != 0)
        {
            Swtpm.Stop(folder);
            var message = string.Join(" ", (error + output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            return VmStartResult.Failed($"QEMU did not start the VM (exit {exit.ToString(CultureInfo.InvariantCulture)}): {message}");
        }

        if (RunningPid(folder) is not { } pid)
        {
            return VmStartResult.Failed($"QEMU started but left no running process behind ({folder.PidFile}); see {folder.ConsoleLog}");
        }

        var runtime = new JsonObject
        {
            ["pid"] = pid,
            ["accelerator"] = accelerator == Accelerator.Kvm ? "kvm" : "tcg",
            ["startedAt"] = DateTime.UtcNow,
        };
        await File.WriteAllTextAsync(folder.RuntimeFile, runtime.ToJsonString(), cancellationToken);
        return new VmStartResult(true, pid, accelerator, note, null);
    }

    /// <summary>
    /// Stops the VM: an ACPI power-button press first (the guest shuts down
    /// cleanly), then, if it has not powered off within <paramref name="timeout"/>,
    /// QMP <c>quit</c> (the power cord), then SIGKILL. <paramref name="hard"/>
    /// skips the button.
    /// </summary>
    public static async Task<VmStopResult> StopAsync(VmFolder folder, TimeSpan timeout, bool hard, CancellationToken cancellationToken = default)
    {
        if (RunningPid(folder) is not { } pid)
        {
            return new VmStopResult(VmStopOutcome.NotRunning, TimeSpan.Zero);
        }

        var clock = Stopwatch.StartNew();
        if (!hard)
        {
            // When QMP is gone or silent (the VM is quitting, or QEMU is
            // wedged) the wait below still decides.
            await TryQmpAsync(folder, "system_powerdown", cancellationToken);

            if (await WaitForExitAsync(folder, pid, timeout, cancellationToken))
            {
                Cleanup(folder);
                return new VmStopResult(VmStopOutcome.PoweredOff, clock.Elapsed);
            }
        }

        await TryQmpAsync(folder, "quit", cancellationToken);
        if (!await WaitForExitAsync(folder, pid, s_killGrace, cancellationToken))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }

            await WaitForExitAsync(folder, pid, s_killGrace, cancellationToken);
        }

        Cleanup(folder);
        return new VmStopResult(hard ? VmStopOutcome.Stopped : VmStopOutcome.StoppedAfterTimeout, clock.Elapsed);
    }

    /// <summary>Waits until the console shows <paramref name="text"/> (printed since the VM started), the VM stops, or time runs out.</summary>
    public static async Task<VmWaitOutcome> WaitForConsoleAsync(VmFolder folder, string text, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var running = RunningPid(folder) is not null;
            if (ReadConsole(folder).Contains(text, StringComparison.Ordinal))
            {
                return VmWaitOutcome.Seen;
            }

            if (!running)
            {
                return VmWaitOutcome.Stopped;
            }

            if (deadline.Elapsed > timeout)
            {
                return VmWaitOutcome.TimedOut;
            }

            await Task.Delay(s_poll, cancellationToken);
        }
    }

    /// <summary>The console log since the VM last started, with terminal control sequences removed.</summary>
    public static string ReadConsole(VmFolder folder)
    {
        try
        {
            using var stream = new FileStream(folder.ConsoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return TerminalControl().Replace(reader.ReadToEnd(), "");
        }
        catch (FileNotFoundException)
        {
            return "";
        }
        catch (DirectoryNotFoundException)
        {
            return "";
        }
    }

    /// <summary>Where the running VM's screen is (VNC on loopback), from QMP; null when it cannot be asked.</summary>
    public static async Task<string?> VncAddressAsync(VmFolder folder, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_qmpTimeout);
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(folder.QmpSocket, timeout.Token);
            var vnc = await qmp.ExecuteAsync("query-vnc", null, timeout.Token);
            return vnc?["enabled"]?.GetValue<bool>() == true ? $"{vnc["host"]}:{vnc["service"]}" : null;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    /// <summary>One QMP command, given <see cref="s_qmpTimeout"/>; false when QEMU did not take it.</summary>
    private static async Task<bool> TryQmpAsync(VmFolder folder, string command, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_qmpTimeout);
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(folder.QmpSocket, timeout.Token);
            await qmp.ExecuteAsync(command, null, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>The PID of the VM's QEMU when it runs: the PID file's process, whose command line names that PID file.</summary>
    private static int? RunningPid(VmFolder folder)
    {
        try
        {
            if (!int.TryParse(File.ReadAllText(folder.PidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
            {
                return null;
            }

            var cmdline = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline");
            return cmdline.Contains("\0-pidfile\0" + folder.PidFile + "\0", StringComparison.Ordinal) && !IsZombie(pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsZombie(int pid) => Stat(pid) is { State: 'Z' or 'X' };

    /// <summary>
    /// State and start time of a process from /proc/PID/stat ("pid (comm) S
    /// ... starttime" where starttime is field 22); null when there is none.
    /// </summary>
    private static (char State, long StartTime)? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var end = stat.LastIndexOf(')');
            if (end < 0 || end + 2 >= stat.Length)
            {
                return null;
            }

            // After ") ": field 3 (state) onwards; starttime is field 22.
            var fields = stat[(end + 2)..].Split(' ');
            return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
                ? (fields[0][0], start)
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until the VM's QEMU is gone. Not only until its command line is:
    /// a killed process loses its memory (and /proc's cmdline) before it
    /// closes its files, and until then it still holds the disk's lock, so a
    /// start right after would fail. The start time tells a reused PID apart.
    /// </summary>
    private static async Task<bool> WaitForExitAsync(VmFolder folder, int pid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stat(pid)?.StartTime;
        var clock = Stopwatch.StartNew();
        while (RunningPid(folder) == pid || (Stat(pid) is { State: not ('Z' or 'X') } now && now.StartTime == started))
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(s_poll, cancellationToken);
        }

        return true;
    }

    private static void Cleanup(VmFolder folder)
    {
        foreach (var file in new[] { folder.ConsoleSocket, folder.QmpSocket, folder.PidFile, folder.RuntimeFile, folder.TpmSocket, folder.TpmPidFile }.Concat(Enumerable.Range(1, VmExtraHardware.MaxSerialPorts).Select(folder.SerialSocket)))
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
        }
    }

    // CSI sequences, charset selections and the few single-character escapes
    // firmware and installers print, and carriage returns.
    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>cM78]|\r")]
    private static partial Regex TerminalControl();
}

public sealed record VmRunState(bool Running, int? Pid, string? Accelerator, DateTime? StartedAt)
{
    public static readonly VmRunState Stopped = new(false, null, null, null);
}

public sealed record VmStartResult(bool Ok, int Pid, Accelerator Accelerator, string? Note, string? Error)
{
    /// <summary>Refused because the VM runs already (nothing went wrong; the caller asked for what is).</summary>
    public bool AlreadyRunning { get; init; }

    public static VmStartResult Failed(string error, bool alreadyRunning = false) => new(false, 0, Accelerator.Auto, null, error) { AlreadyRunning = alreadyRunning };
}

public enum VmStopOutcome
{
    NotRunning,

    /// <summary>The guest powered itself off after the ACPI button.</summary>
    PoweredOff,

    /// <summary>The guest did not react in time: QEMU was stopped hard.</summary>
    StoppedAfterTimeout,

    /// <summary>Stopped hard, as asked.</summary>
    Stopped,
}

public sealed record VmStopResult(VmStopOutcome Outcome, TimeSpan Took);

public enum VmWaitOutcome
{
    Seen,
    Stopped,
    TimedOut,
}
