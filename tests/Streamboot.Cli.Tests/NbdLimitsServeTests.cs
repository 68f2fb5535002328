using System.Globalization;
using System.Net;
using Streamboot.Testing;

namespace Streamboot.Cli.Tests;

/// <summary>
/// The attacks reproduced against <c>streamboot serve</c>, which must fail:
/// replies never read (the server's memory, by its RSS), hundreds of
/// connections (its threads), too many from one address, connections left
/// idle. Each runs beside a client that does its work and must get its data intact.
/// </summary>
public sealed class NbdLimitsServeTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const long MiB = 1024 * 1024;
    private readonly StreambootCli _cli = new();
    private ServerProcess? _server;
    private readonly Dictionary<string, string> _views = [];
    private int _nbdPort;

    public async Task InitializeAsync()
    {
        await _cli.OkAsync("vdisk", "create", "gold", "--size", "64M", "--format", "qcow2");
        await QemuImg.IoAsync("qcow2", Path.Combine(_cli.DataFolder, "vdisks", "gold", "gold.1.qcow2"), "write -P 0x11 0 2M");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:01", "--name", "pc1");
        await _cli.OkAsync("device", "add", "52:54:00:00:00:02", "--name", "pc2");
        await _cli.OkAsync("assign", "pc1", "gold");
        await _cli.OkAsync("assign", "pc2", "gold");
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        _cli.Dispose();
    }

    /// <summary>
    /// One connection asking 128 READs of 8 MiB and never reading grew the
    /// server to 1.2 GB; four to 2.5-4.5 GB. Now a connection holds at most
    /// its 32 MiB, and all of them together the server-wide pool.
    /// </summary>
    [Theory]
    [InlineData(1, null, 160)]
    [InlineData(4, null, 320)]
    [InlineData(4, 48, 160)]
    public async Task Unread_replies_cannot_grow_the_server_and_a_client_beside_them_is_unaffected(int connections, int? poolMiB, int boundMiB)
    {
        var environment = new Dictionary<string, string?>();
        if (poolMiB is { } pool)
        {
            environment["STREAMBOOT_NBD_MAX_IN_FLIGHT_MIB"] = pool.ToString(CultureInfo.InvariantCulture);
        }

        await StartAsync([], environment);
        // The attacked range is in the device's RAM write cache, whose blocks change in place and are
        // never sent from where they are: every reply is read into a buffer of the server's first.
        var device = $"ram{connections}x{poolMiB ?? 0}";
        await _cli.OkAsync("device", "add", $"52:54:00:00:01:{(connections * 16) + (poolMiB is null ? 0 : 1):x2}", "--name", device);
        await _cli.OkAsync("device", "set", device, "--write-cache", "server-ram");
        await _cli.OkAsync("assign", device, "gold");
        var view = await ViewAsync(device);
        await QemuImg.IoAsync("raw", Uri(view), "write -P 0x5a 0 8M");
        // The client beside the attack reads its disk once first: the shared read cache is then as full as it gets.
        await LegitimateClientAsync();
        var pid = _server!.Pid;
        var before = ProcStatus.ResidentBytes(pid);

        var attackers = new List<NbdRawClient>();
        using var sampling = new CancellationTokenSource();
        var peak = SampleMaxAsync(() => ProcStatus.ResidentBytes(pid), sampling.Token);
        try
        {
            for (var i = 0; i < connections; i++)
            {
                var attacker = await NbdRawClient.ConnectAsync(_nbdPort, receiveBuffer: 4096);
                attackers.Add(attacker);
                await attacker.GoAsync(view);
                await attacker.SendReadsAsync(128, 8 * 1024 * 1024);
            }

            await LegitimateClientAsync();
            await SettledAsync(() => ProcStatus.ResidentBytes(pid));
        }
        finally
        {
            await sampling.CancelAsync();
        }

        var growth = await peak - before;
        output.WriteLine($"{connections} connection(s) never reading, pool {poolMiB?.ToString(CultureInfo.InvariantCulture) ?? "default"} MiB: RSS {before / MiB} MiB before, {(before + growth) / MiB} MiB at most during the attack (+{growth / MiB} MiB)");
        Assert.True(growth < boundMiB * MiB, $"{connections} connection(s) that never read grew the server by {growth / MiB} MiB (bound {boundMiB} MiB); its output:\n{_server.Output}");
        foreach (var attacker in attackers)
        {
            attacker.Abort();
        }
    }

    /// <summary>300 connections were 300 threads (one each); now they share the thread pool.</summary>
    [Fact]
    public async Task Three_hundred_connections_do_not_make_three_hundred_threads()
    {
        await StartAsync([], []);
        await RunAsync("nbdinfo", Uri("gold"));
        var pid = _server!.Pid;
        var before = ProcStatus.Threads(pid);
        var clients = new List<NbdRawClient>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                // Six client addresses, 50 each: under the per-address limit.
                var client = await NbdRawClient.ConnectAsync(_nbdPort, IPAddress.Parse($"127.0.0.{1 + (i % 6)}"));
                clients.Add(client);
                await client.GoAsync("gold");
            }

            var during = ProcStatus.Threads(pid);
            output.WriteLine($"threads: {before} before, {during} with 300 connections");
            Assert.True(during - before < 40, $"300 connections took the server from {before} to {during} threads");
            await LegitimateClientAsync();
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Connections_beyond_the_per_address_limit_are_refused_and_logged()
    {
        await StartAsync(["--nbd-max-connections-per-address", "3"], []);
        var source = IPAddress.Parse("127.0.0.7");
        var open = new List<NbdRawClient>();
        for (var i = 0; i < 3; i++)
        {
            var client = await NbdRawClient.ConnectAsync(_nbdPort, source);
            open.Add(client);
            await client.GoAsync("gold");
        }

        await using (var refused = await NbdRawClient.ConnectAsync(_nbdPort, source))
        {
            Assert.True(await refused.ClosedByServerAsync());
        }

        await _server!.WaitForOutputAsync("NBD connection from 127.0.0.7 refused: 3 connections from that address are open");
        await using (var other = await NbdRawClient.ConnectAsync(_nbdPort, IPAddress.Parse("127.0.0.8")))
        {
            await other.GoAsync("gold");
        }

        foreach (var client in open)
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>An idle connection is closed; the client connects again when it needs the disk.</summary>
    [Fact]
    public async Task An_idle_connection_is_closed_and_its_session_ends()
    {
        await StartAsync(["--nbd-idle-timeout", "2"], []);
        await using (var client = await NbdRawClient.ConnectAsync(_nbdPort))
        {
            await client.GoAsync(await ViewAsync("pc1"));
            await client.SendReadsAsync(1, 4096);
            var reply = await client.ReadAsync(16 + 4096);
            Assert.Equal(0x11, reply[16]);
            Assert.True(await client.ClosedByServerAsync());
        }

        await _server!.WaitForOutputAsync("with nothing in flight, closing");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await _cli.JsonAsync("session", "list")).GetArrayLength() > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Empty((await _cli.JsonAsync("session", "list")).EnumerateArray());
        await QemuImg.IoAsync("raw", Uri(await ViewAsync("pc1")), "read -P 0x11 0 2M");
    }

    [Theory]
    [InlineData("--nbd-idle-timeout", "-1", "NBD idle timeout (0: never) -1 is out of range")]
    [InlineData("--nbd-max-connections-per-address", "0", "NBD connections per client address 0 is out of range")]
    public async Task Bad_limits_are_usage_errors(string flag, string value, string expected)
    {
        var result = await _cli.RunAsync("serve", "--bind", "127.0.0.1", "--http-port", Ports.Free().ToString(CultureInfo.InvariantCulture), flag, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>pc2 copies its disk out, writes and reads back: its data must be exactly what it should be.</summary>
    private async Task LegitimateClientAsync()
    {
        var copy = Path.Combine(_cli.DataFolder, $"legit-{Guid.NewGuid():N}.raw");
        var view = await ViewAsync("pc2");
        await RunAsync("nbdcopy", Uri(view), copy);
        var bytes = await File.ReadAllBytesAsync(copy);
        File.Delete(copy);
        Assert.Equal(64 * MiB, bytes.Length);
        Assert.True(bytes.AsSpan(0, 2 * (int)MiB).IndexOfAnyExcept((byte)0x11) < 0, "pc2's disk does not read 0x11 in its first 2 MiB");
        await QemuImg.IoAsync("raw", Uri(view), "write -P 0x77 32M 1M", "read -P 0x77 32M 1M", "read -P 0x11 0 2M");
    }

    private async Task StartAsync(string[] flags, Dictionary<string, string?> environment)
    {
        await StopAsync();
        var http = Ports.Free();
        _nbdPort = Ports.Free();
        _server = ServerProcess.Start(
            ["--data", _cli.DataFolder, "--bind", "127.0.0.1", "--http-port", http.ToString(CultureInfo.InvariantCulture), "--nbd-port", _nbdPort.ToString(CultureInfo.InvariantCulture), .. flags],
            environment);
        using var health = await _server.WaitForHttpAsync($"http://127.0.0.1:{http}/healthz", TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private async Task StopAsync()
    {
        if (_server is not null)
        {
            Assert.Equal(0, await _server.TerminateAsync(TimeSpan.FromSeconds(60)));
            await _server.DisposeAsync();
            _server = null;
        }
    }

    /// <summary>
    /// The device's own view, VDISK/DEVICE/KEY, with the key of one boot made as its boot script
    /// would make it (<c>streamboot session key</c>); later calls reuse that boot, as a running client does.
    /// </summary>
    private async Task<string> ViewAsync(string device)
    {
        if (!_views.TryGetValue(device, out var view))
        {
            view = (await _cli.OkAsync("session", "key", device)).Stdout.Trim();
            _views[device] = view;
        }

        return view;
    }

    private string Uri(string export) => $"nbd://127.0.0.1:{_nbdPort}/{export.Replace("/", "%2F", StringComparison.Ordinal)}";

    private static async Task<string> RunAsync(string tool, params string[] arguments)
    {
        var path = ProcessRunner.Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's 'libnbd-bin' package (./test.sh installs it)");
        var result = await ProcessRunner.RunAsync(path, arguments);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }

    /// <summary>The largest value seen until cancelled.</summary>
    private static async Task<long> SampleMaxAsync(Func<long> value, CancellationToken cancellationToken)
    {
        var max = value();
        while (!cancellationToken.IsCancellationRequested)
        {
            max = Math.Max(max, value());
            try
            {
                await Task.Delay(25, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return Math.Max(max, value());
    }

    /// <summary>Returns once the value has not grown for 40 looks in a row.</summary>
    private static async Task SettledAsync(Func<long> value)
    {
        var max = value();
        for (var same = 0; same < 40;)
        {
            await Task.Delay(50);
            var now = value();
            same = now > max ? 0 : same + 1;
            max = Math.Max(max, now);
        }
    }
}
