using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>A program the test starts and later signals and stops (udhcpc that keeps renewing, tcpdump). Only this process, by its id.</summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    public const int SigTerm = 15;
    public const int SigUsr1 = 10;
    public const int SigUsr2 = 12;

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private BackgroundProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public static BackgroundProcess Start(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        start.Environment["LC_ALL"] = "C";
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new BackgroundProcess(Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}"));
    }

    /// <summary>Sends a signal to this process only (ip netns exec execs the program, so the id is the program's).</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, signal);
        }
    }

    /// <summary>Waits for <paramref name="condition"/> on the output, up to the time given.</summary>
    public async Task<bool> WaitForAsync(Func<BackgroundProcess, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (condition(this))
            {
                return true;
            }

            await Task.Delay(50);
        }

        return condition(this);
    }

    /// <summary>SIGTERM, then SIGKILL if it has not ended within the grace time.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        Signal(SigTerm);
        using var cts = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await StopAsync();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.AppendLine(line);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
