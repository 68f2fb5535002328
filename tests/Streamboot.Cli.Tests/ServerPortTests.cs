using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// Two servers on one site: a port or a name already taken stops the second
/// <c>serve</c> with one line, before it touches the first one's row; and
/// <c>server list</c> tells running, stopped and crashed servers apart.
/// </summary>
public sealed class ServerPortTests : IAsyncLifetime
{
    private static readonly TimeSpan s_start = TimeSpan.FromMinutes(2);
    private readonly StreambootCli _cli = new();
    private ServerProcess? _first;
    private int _http;
    private int _nbd;

    public async Task InitializeAsync()
    {
        _http = Ports.Free();
        _nbd = Ports.Free();
        _first = ServerProcess.Start(Args("first", _http, _nbd));
        using var health = await _first.WaitForHttpAsync($"http://127.0.0.1:{_http}/healthz", s_start);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_first is not null)
        {
            await _first.DisposeAsync();
        }

        _cli.Dispose();
    }

    [Fact]
    public async Task A_second_serve_on_a_taken_nbd_port_stops_with_one_line_naming_the_port()
    {
        var second = await _cli.RunAsync(["serve", .. Args("second", Ports.Free(), _nbd).Skip(2)]);
        Assert.Equal(1, second.ExitCode);
        Assert.StartsWith($"streamboot: NBD port {_nbd} on 127.0.0.1 is in use by another program", OneLine(second.Stderr), StringComparison.Ordinal);
        Assert.Contains("--nbd-port", second.Stderr, StringComparison.Ordinal);
        await AssertOnlyTheFirstServerAsync();
    }

    [Fact]
    public async Task A_second_serve_on_a_taken_http_port_stops_with_one_line_and_no_stack_trace()
    {
        var second = await _cli.RunAsync(["serve", .. Args("second", _http, Ports.Free()).Skip(2)]);
        Assert.Equal(1, second.ExitCode);
        Assert.StartsWith($"streamboot: HTTP port {_http} on 127.0.0.1 is in use", OneLine(second.Stderr), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", second.Stdout + second.Stderr, StringComparison.Ordinal);
        await AssertOnlyTheFirstServerAsync();
    }

    [Fact]
    public async Task A_second_serve_under_a_running_servers_name_is_refused()
    {
        var second = await _cli.RunAsync(["serve", .. Args("first", Ports.Free(), Ports.Free()).Skip(2)]);
        Assert.Equal(1, second.ExitCode);
        Assert.StartsWith("streamboot: server name 'first' is held by another running server", OneLine(second.Stderr), StringComparison.Ordinal);
        await AssertOnlyTheFirstServerAsync();
    }

    [Fact]
    public async Task A_tftp_port_in_use_is_said_to_be_in_use_not_a_missing_capability()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var tftp = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        var http = Ports.Free();
        await using var server = ServerProcess.Start(Args("tftp", http, Ports.Free(), tftp));
        await server.WaitForOutputAsync($"TFTP not started on port {tftp}");
        Assert.Contains("the port is in use by another program", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("CAP_NET_BIND_SERVICE", server.Output, StringComparison.Ordinal);
        // The rest of the server runs: it answers, and stops cleanly.
        using (var health = await server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", s_start))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        }

        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Server_list_tells_running_stopped_and_crashed_servers_apart_and_a_crashed_name_is_free_again()
    {
        var http = Ports.Free();
        await using (var stopped = ServerProcess.Start(Args("stopped", http, Ports.Free())))
        {
            using (await stopped.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", s_start))
            {
            }

            Assert.Equal(0, await stopped.TerminateAsync(TimeSpan.FromSeconds(30)));
        }

        http = Ports.Free();
        await using (var crashed = ServerProcess.Start(Args("crashed", http, Ports.Free())))
        {
            using (await crashed.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", s_start))
            {
            }

            await crashed.CrashAsync(TimeSpan.FromSeconds(30));
        }

        // Its heartbeats stop: as if ten minutes had passed without one.
        await SqliteAsync("UPDATE servers SET last_heartbeat_at = datetime('now', '-10 minutes') WHERE name = 'crashed'");
        var states = (await _cli.JsonAsync("server", "list")).EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("state").GetString());
        Assert.Equal("running", states["first"]);
        Assert.Equal("stopped", states["stopped"]);
        Assert.Equal("missing-heartbeats", states["crashed"]);
        var table = await _cli.OkAsync("server", "list");
        Assert.Contains("missing heartbeats", table.Stdout, StringComparison.Ordinal);

        // A crashed server restarts under its name at once (its lock died with it).
        http = Ports.Free();
        await using var restarted = ServerProcess.Start(Args("crashed", http, Ports.Free()));
        using (await restarted.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", s_start))
        {
        }

        Assert.Equal("running", (await _cli.JsonAsync("server", "list")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "crashed").GetProperty("state").GetString());
        Assert.Equal(0, await restarted.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    private async Task AssertOnlyTheFirstServerAsync()
    {
        var row = Assert.Single((await _cli.JsonAsync("server", "list")).EnumerateArray());
        Assert.Equal(("first", _http, "running"), (row.GetProperty("name").GetString(), row.GetProperty("httpPort").GetInt32(), row.GetProperty("state").GetString()));
        Assert.False(_first!.HasExited);
    }

    private string[] Args(string name, int http, int nbd, int tftp = 0) =>
        ["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--server-name", name, "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", nbd.ToString(CultureInfo.InvariantCulture), "--tftp-port", tftp.ToString(CultureInfo.InvariantCulture)];

    /// <summary>stderr must be exactly one line; returns it.</summary>
    private static string OneLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "more than one line:\n" + stderr);
        return lines[0];
    }

    private async Task SqliteAsync(string sql)
    {
        var python = ProcessRunner.Find("python3") ?? throw new InvalidOperationException("python3 is not installed");
        var script = $"import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()";
        var result = await ProcessRunner.RunAsync(python, ["-c", script, Path.Combine(_cli.DataFolder, "streamboot.db"), sql]);
        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
