using System.Net.Sockets;
using System.Runtime.InteropServices;
using Streamboot.Cli.Output;
using Streamboot.Vms;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>vm console</c>: this terminal on the VM's serial port, like
/// <c>virsh console</c>. The terminal goes to raw mode so keys reach the
/// guest as typed; Ctrl+] leaves and puts the terminal back. Raw mode is
/// set with tcsetattr here, not with stty: .NET puts its own terminal
/// settings back whenever a child process ends, which would undo stty's.
/// </summary>
public static partial class VmConsoleAttach
{
    // struct termios is 60 bytes on x86-64 and 64-bit ARM glibc; room to spare.
    private const int TermiosSize = 256;
    private const int StandardInput = 0;
    private const int TcsaNow = 0;

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

        var saved = new byte[TermiosSize];
        var raw = !Console.IsInputRedirected && tcgetattr(StandardInput, saved) == 0;
        Console.Error.WriteLine($"Connected to {name}'s serial console; Ctrl+] leaves (the VM keeps running).\r");
        if (raw)
        {
            var settings = (byte[])saved.Clone();
            cfmakeraw(settings);
            raw = tcsetattr(StandardInput, TcsaNow, settings) == 0;
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
                    // fd 0 itself: Console's own stdin stream puts .NET's terminal
                    // settings back before every read, undoing raw mode.
                    using var input = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(StandardInput, ownsHandle: false), FileAccess.Read, 1);
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
            if (raw)
            {
                _ = tcsetattr(StandardInput, TcsaNow, saved);
            }
        }

        Console.Error.WriteLine();
        Console.Error.WriteLine($"Left {name}'s console.");
        return ExitCodes.Ok;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, [Out] byte[] termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int optionalActions, byte[] termios);

    [LibraryImport("libc")]
    private static partial void cfmakeraw(byte[] termios);
}
