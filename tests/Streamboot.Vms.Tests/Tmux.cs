using System.Globalization;
using Streamboot.Testing;

namespace Streamboot.Vms.Tests;

/// <summary>
/// A terminal for a program that asks questions: a detached tmux session on
/// a server of its own, typed into with send-keys and read with capture-pane.
/// </summary>
public sealed class Tmux : IAsyncDisposable
{
    private readonly string _tmux;
    private readonly string _server = "sbtest-" + Guid.NewGuid().ToString("N")[..12];

    private Tmux(string tmux) => _tmux = tmux;

    public static async Task<Tmux> StartAsync(string command, int width = 200, int height = 60)
    {
        var tmux = new Tmux(ProcessRunner.Find("tmux", "/usr/bin") ?? throw new InvalidOperationException("tmux is not installed: apt-get install tmux (test.sh installs it)"));
        var result = await tmux.RunAsync("new-session", "-d", "-s", "t", "-x", width.ToString(CultureInfo.InvariantCulture), "-y", height.ToString(CultureInfo.InvariantCulture), command);
        Assert.True(result.ExitCode == 0, result.ToString());
        return tmux;
    }

    /// <summary>The screen and its scrollback.</summary>
    public async Task<string> ScreenAsync() => (await RunAsync("capture-pane", "-p", "-J", "-t", "t", "-S", "-2000")).Stdout;

    /// <summary>Waits until the screen shows <paramref name="text"/> at least <paramref name="times"/> times.</summary>
    public async Task<string> WaitForAsync(string text, TimeSpan? timeout = null, int times = 1)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var screen = await ScreenAsync();
            if (Count(screen, text) >= times)
            {
                return screen;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the terminal did not show '{text}' (x{times}). Screen:\n{screen}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Types <paramref name="text"/> as it is, then Enter.</summary>
    public async Task TypeLineAsync(string text)
    {
        if (text.Length > 0)
        {
            await RunAsync("send-keys", "-t", "t", "-l", text);
        }

        await KeysAsync("Enter");
    }

    /// <summary>Named keys: Enter, Down, Up ...</summary>
    public async Task KeysAsync(params string[] keys) => await RunAsync(["send-keys", "-t", "t", .. keys]);

    public async ValueTask DisposeAsync() => await RunAsync("kill-server");

    private Task<ProcessResult> RunAsync(params string[] arguments) => ProcessRunner.RunAsync(_tmux, ["-L", _server, .. arguments]);

    private static int Count(string text, string what)
    {
        var n = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
