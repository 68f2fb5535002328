using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Streamboot.Packaging.Tests;

/// <summary>
/// The installed server, started the way its unit says (ExecStart,
/// Environment=, User=, Group=) but by the test: systemd is not PID 1 on
/// every machine the tests run on. setpriv execs the program, so the
/// process started is the server itself and SIGTERM goes to it alone.
/// </summary>
public sealed partial class InstalledServer : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private InstalledServer(Process process)
    {
        _process = process;
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

    /// <summary>Starts what <paramref name="unitFile"/> runs, with <paramref name="overrides"/> over its environment (ports on loopback, TFTP off).</summary>
    public static InstalledServer Start(string unitFile, IReadOnlyDictionary<string, string> overrides)
    {
        var service = File.ReadAllLines(unitFile)
            .SkipWhile(line => line.Trim() != "[Service]").Skip(1)
            .TakeWhile(line => !line.StartsWith('['))
            .Where(line => line.Contains('=', StringComparison.Ordinal) && !line.TrimStart().StartsWith('#'))
            .Select(line => (Key: line[..line.IndexOf('=', StringComparison.Ordinal)].Trim(), Value: line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim()))
            .ToList();
        string Single(string key) => Assert.Single(service, s => s.Key == key).Value;

        var user = Single("User");
        var start = new ProcessStartInfo(Tools.Require("setpriv", "util-linux"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        // The unit's ExecStart has no quoting: words split on spaces.
        foreach (var argument in (string[])["--reuid", user, "--regid", Single("Group"), "--init-groups", "--", .. Single("ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries)])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in Tools.UserEnvironment(user, $"/var/lib/{Single("StateDirectory")}"))
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        foreach (var (_, assignment) in service.Where(s => s.Key == "Environment"))
        {
            var (key, value) = (assignment[..assignment.IndexOf('=', StringComparison.Ordinal)], assignment[(assignment.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            start.Environment[key] = value;
        }

        foreach (var (key, value) in overrides)
        {
            start.Environment[key] = value;
        }

        return new InstalledServer(Process.Start(start) ?? throw new InvalidOperationException($"cannot start {start.FileName}"));
    }

    /// <summary>/healthz on <paramref name="port"/> once it answers; fails with the server's output if it exits first or never answers.</summary>
    public async Task<string> HealthAsync(int port, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Assert.False(_process.HasExited, $"the server exited ({(_process.HasExited ? _process.ExitCode : 0)}) before /healthz answered:\n{Output}");
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{port}/healthz");
                Assert.True(response.IsSuccessStatusCode, $"/healthz: {(int)response.StatusCode}\n{Output}");
                return await response.Content.ReadAsStringAsync();
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>SIGTERM, as systemctl stop sends it; the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        Assert.Equal(0, Kill(_process.Id, SigTerm));
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
