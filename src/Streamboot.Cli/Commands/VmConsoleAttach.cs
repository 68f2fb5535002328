using System.Diagnostics;
using System.Net.Sockets;
using Streamboot.Cli.Output;
using Streamboot.Vms;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>vm console</c>: this terminal on the VM's serial port, like
/// <c>virsh console</c>. The terminal goes to raw mode so keys reach the
/// guest as typed; Ctrl+] leaves and puts the terminal back.
/// </summary>
public static class VmConsoleAttach
{
    private const byte Escape = 0x1d; // Ctrl+]

    public static async Task<int> RunAsync(string name, VmFolder folder, CancellationToken cancellationToken)
    {
        if (!VmRuntime.State(folder).Running)
        {
            CliOutput.Fail($"VM {name} is not running; start it with: streamboot vm start {name}");
            return ExitCodes.Failure;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(folder.ConsoleSocket), cancellationToken);
        }
        catch (SocketException e)
        {
            CliOutput.Fail($"cannot attach to {folder.ConsoleSocket}: {e.Message}");
            return ExitCodes.Failure;
        }

        var terminal = !Console.IsInputRedirected;
        var saved = terminal ? Stty("-g")?.Trim() : null;
        Console.Error.WriteLine($"Connected to {name}'s serial console; Ctrl+] leaves (the VM keeps running).\r");
        if (terminal)
        {
            Stty("raw", "-echo");
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var output = Console.OpenStandardOutput();
            var fromVm = Task.Run(
                async () =>
                {
                    var buffer = new byte[4096];
                    int n;
                    while ((n = await socket.ReceiveAsync(buffer, stop.Token)) > 0)
                    {
                        await output.WriteAsync(buffer.AsMemory(0, n), stop.Token);
                        await output.FlushAsync(stop.Token);
                    }
                },
                stop.Token);
            var toVm = Task.Run(
                async () =>
                {
                    var input = Console.OpenStandardInput();
                    var buffer = new byte[1024];
                    int n;
                    while ((n = await input.ReadAsync(buffer, stop.Token)) > 0)
                    {
                        var end = Array.IndexOf(buffer, Escape, 0, n);
                        await socket.SendAsync(buffer.AsMemory(0, end < 0 ? n : end), stop.Token);
                        if (end >= 0)
                        {
                            return;
                        }
                    }
                },
                stop.Token);
            await Task.WhenAny(fromVm, toVm);
            await stop.CancelAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
        {
        }
        finally
        {
            if (saved is { Length: > 0 })
            {
                Stty(saved);
            }
        }

        Console.Error.WriteLine();
        Console.Error.WriteLine($"Left {name}'s console.");
        return ExitCodes.Ok;
    }

    /// <summary>Runs stty on this terminal (its standard input is ours, not a pipe).</summary>
    private static string? Stty(params string[] arguments)
    {
        var start = new ProcessStartInfo("stty") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            var text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
