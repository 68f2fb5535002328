using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Streamboot.Testing;

/// <summary>A running <c>./streamboot serve</c>, its output collected, stopped with a real SIGTERM.</summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private readonly bool _underParent;

    private ServerProcess(Process process, bool underParent = false)
    {
        _process = process;
        _underParent = underParent;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The server's own process id (for /proc: its memory and threads).</summary>
    public int Pid => ServerPid();

    /// <summary>
    /// Starts the server as the child of a process named <paramref name="parentName"/>
    /// (a shell under that name). .NET's systemd integration recognises
    /// systemd by its parent's name, so this is how systemd itself starts it.
    /// </summary>
    public static ServerProcess StartUnder(string parentName, string folder, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var parent = Path.Combine(folder, parentName);
        File.CreateSymbolicLink(parent, "/bin/sh");
        // "; exit" keeps the shell alive as the parent instead of exec'ing.
        return Start(parent, ["-c", "\"$@\"; exit $?", "sh", Repository.Launcher, "serve", .. arguments], TftpOff(environment), underParent: true);
    }

    /// <summary>Starts the server on this machine's own network: TFTP stays off (port 69 is the machine's) and so do iSCSI and HTTPS (3260, and 8443 where a package's settings are installed: servers of tests running side by side would share them) unless the test turns them on.</summary>
    public static ServerProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        return Start(Repository.Launcher, ["serve", .. arguments], TftpOff(environment), underParent: false);
    }

    private static Dictionary<string, string?> TftpOff(IReadOnlyDictionary<string, string?>? environment)
    {
        var env = new Dictionary<string, string?> { ["STREAMBOOT_TFTP_PORT"] = "0", ["STREAMBOOT_ISCSI_PORT"] = "0", ["STREAMBOOT_HTTPS_PORT"] = "0" };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }

        return env;
    }

    /// <summary>Starts the server inside a network namespace (<c>ip netns exec</c> execs it, so the PID stays the server's).</summary>
    public static ServerProcess StartIn(string networkNamespace, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null) =>
        Start("ip", ["netns", "exec", networkNamespace, Repository.Launcher, "serve", .. arguments], environment, underParent: false);

    private static ServerProcess Start(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment, bool underParent)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Repository.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("STREAMBOOT_DATA");
        start.Environment.Remove("STREAMBOOT_DB");
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        return new ServerProcess(Process.Start(start) ?? throw new InvalidOperationException("cannot start ./streamboot serve"), underParent);
    }

    /// <summary>Polls until <paramref name="url"/> answers, the server dies, or the time is up.</summary>
    public async Task<HttpResponseMessage> WaitForHttpAsync(string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"serve exited with {_process.ExitCode} before answering:\n{Output}");
            }

            try
            {
                return await http.GetAsync(url);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Waits until the server has logged <paramref name="text"/> (its console logger writes from a queue, a moment after the event).</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the server did not log '{text}'. Its output:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Sends SIGTERM (what systemd and kill send) and returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        Assert.Equal(0, Kill(ServerPid(), SigTerm));
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills the server with SIGKILL (a crash: nothing of it runs after) and waits until it is gone.</summary>
    public async Task CrashAsync(TimeSpan timeout)
    {
        Assert.Equal(0, Kill(ServerPid(), SigKill));
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>The server's own pid: the process started, or its child when started under a named parent.</summary>
    private int ServerPid()
    {
        if (!_underParent)
        {
            return _process.Id;
        }

        var children = File.ReadAllText($"/proc/{_process.Id}/task/{_process.Id}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return int.Parse(Assert.Single(children), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
