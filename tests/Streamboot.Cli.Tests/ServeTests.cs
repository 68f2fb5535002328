using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary><c>streamboot serve</c> as an admin and systemd run it.</summary>
public sealed class ServeTests : IDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(2);
    private readonly StreambootCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Serve_answers_healthz_registers_itself_and_stops_cleanly_on_SIGTERM()
    {
        var port = Ports.Free();
        await using var server = ServerProcess.Start(["--data", _cli.DataFolder, "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--server-name", "sb-test-1"]);
        using var response = await server.WaitForHttpAsync($"http://127.0.0.1:{port}/healthz", s_startTimeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        var database = health.GetProperty("checks").GetProperty("database");
        Assert.Equal("healthy", database.GetProperty("status").GetString());
        // /healthz answers anyone: whether the database answers, never where it is.
        Assert.DoesNotContain(_cli.DataFolder, database.GetProperty("description").GetString(), StringComparison.Ordinal);

        var servers = await _cli.JsonAsync("server", "list");
        var row = Assert.Single(servers.EnumerateArray());
        Assert.Equal("sb-test-1", row.GetProperty("name").GetString());
        Assert.Equal(port, row.GetProperty("httpPort").GetInt32());

        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Streamboot stopping", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_tells_systemd_it_is_ready_and_when_it_stops()
    {
        var socketPath = Path.Combine(_cli.DataFolder, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        var port = Ports.Free();
        await using var server = ServerProcess.StartUnder(
            "systemd",
            _cli.DataFolder,
            ["--data", _cli.DataFolder, "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1"],
            new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = socketPath });

        Assert.Contains("READY=1", await ReceiveAsync(notify, TimeSpan.FromMinutes(2)), StringComparison.Ordinal);
        using var response = await server.WaitForHttpAsync($"http://127.0.0.1:{port}/healthz", s_startTimeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stopping = ReceiveAsync(notify, TimeSpan.FromSeconds(30));
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("STOPPING=1", await stopping, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_takes_its_port_from_the_environment()
    {
        var port = Ports.Free();
        await using var server = ServerProcess.Start(
            ["--bind", "127.0.0.1"],
            new Dictionary<string, string?> { ["STREAMBOOT_DATA"] = _cli.DataFolder, ["STREAMBOOT_HTTP_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var response = await server.WaitForHttpAsync($"http://127.0.0.1:{port}/healthz", s_startTimeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_port_in_use_is_a_clear_failure()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var result = await _cli.RunAsync("serve", "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"streamboot: HTTP port {port} on 127.0.0.1 is in use by another program", result.Stderr.TrimEnd()[..$"streamboot: HTTP port {port} on 127.0.0.1 is in use by another program".Length]);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("--http-port", "70000", "out of range")]
    [InlineData("--bind", "not-an-address", "not an IP address")]
    [InlineData("--http-port", "eighty", "Cannot parse argument 'eighty'")]
    public async Task Bad_serve_flags_are_usage_errors(string flag, string value, string expected)
    {
        var result = await _cli.RunAsync("serve", flag, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_and_the_admin_verbs_share_a_PostgreSQL_database()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var location = await cluster.CreateDatabaseAsync();
        var url = cluster.Url(new Npgsql.NpgsqlConnectionStringBuilder(location.ConnectionString).Database!);
        await _cli.OkAsync("--db", url, "device", "add", "52:54:00:aa:bb:cc", "--name", "pg-client");
        await _cli.OkAsync("--db", url, "vdisk", "create", "pgdisk", "--size", "16M");
        await _cli.OkAsync("--db", url, "assign", "pg-client", "pgdisk");

        var port = Ports.Free();
        await using var server = ServerProcess.Start(["--data", _cli.DataFolder, "--db", url, "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1"]);
        using var response = await server.WaitForHttpAsync($"http://127.0.0.1:{port}/healthz", s_startTimeout);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("streamboot@127.0.0.1", body, StringComparison.Ordinal);
        Assert.Contains("PostgreSQL streamboot@127.0.0.1", server.Output, StringComparison.Ordinal);

        var device = await _cli.JsonAsync("--db", url, "device", "show", "pg-client");
        Assert.Equal("pgdisk", device.GetProperty("assignments")[0].GetProperty("vdisk").GetString());
        Assert.Single((await _cli.JsonAsync("--db", url, "server", "list")).EnumerateArray());
        // Nothing went to the embedded database.
        Assert.False(File.Exists(Path.Combine(_cli.DataFolder, "streamboot.db")));
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

}
