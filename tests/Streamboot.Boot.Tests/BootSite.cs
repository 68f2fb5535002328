using System.Diagnostics;
using System.Globalization;
using Streamboot.Testing;

namespace Streamboot.Boot.Tests;

/// <summary>
/// One test's whole site: a data folder set up through the CLI, a private
/// boot network, <c>streamboot serve</c> running inside it, and the VMs and
/// peers a test starts there. Everything stops and goes at the end.
/// </summary>
public sealed class BootSite : IAsyncDisposable
{
    public const int HttpPort = 8080;
    public const int NbdPort = 10809;
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<Process> _peers = [];
    private readonly System.Text.StringBuilder _stoppedOutput = new();
    private readonly System.Text.StringBuilder _dnsmasqOutput = new();
    private (List<string>? Flags, IReadOnlyDictionary<string, string?>? Environment) _lastStart;

    private BootSite(BootNetwork network)
    {
        Network = network;
    }

    public StreambootCli Cli { get; } = new();

    public TempFolder Folder { get; } = new("boot-site");

    public BootNetwork Network { get; }

    public ServerProcess? Server { get; private set; }

    public string BaseUrl => $"http://{Network.ServerAddress}:{HttpPort}";

    public static async Task<BootSite> CreateAsync() => new(await BootNetwork.CreateAsync());

    /// <summary>Starts the server in the boot network with extra <c>serve</c> flags and environment; waits until it answers.</summary>
    public async Task StartServerAsync(IEnumerable<string>? flags = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        _lastStart = (flags?.ToList(), environment);
        var env = new Dictionary<string, string?>(Cli.Environment)
        {
            ["STREAMBOOT_BOOT_MENU_SECONDS"] = "2",
            ["STREAMBOOT_BOOT_RETRY_SECONDS"] = "3",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }

        Server = ServerProcess.StartIn(
            Network.Name,
            ["--data", Cli.DataFolder, "--bind", "0.0.0.0", "--http-port", HttpPort.ToString(CultureInfo.InvariantCulture), "--nbd-port", NbdPort.ToString(CultureInfo.InvariantCulture), .. flags ?? []],
            env);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            Assert.False(Server.HasExited, $"serve exited:\n{Server.Output}");
            var probe = await Network.ExecAsync("curl", "-sf", "-o", "/dev/null", $"http://127.0.0.1:{HttpPort}/healthz");
            if (probe.ExitCode == 0)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"serve did not answer in 3 minutes:\n{Server.Output}");
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Stops the server (SIGTERM, as systemctl restart does, or SIGKILL: a
    /// crash) and starts it again with the same flags on the same data
    /// folder; returns once it answers again.
    /// </summary>
    public async Task RestartServerAsync(bool crash = false, Func<Task>? whileDown = null)
    {
        var server = Server ?? throw new InvalidOperationException("no server to restart");
        if (crash)
        {
            await server.CrashAsync(TimeSpan.FromSeconds(30));
        }
        else
        {
            Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(60)));
        }

        _stoppedOutput.Append(server.Output);
        await server.DisposeAsync();
        Server = null;
        if (whileDown is not null)
        {
            await whileDown();
        }

        await StartServerAsync(_lastStart.Flags, _lastStart.Environment);
    }

    /// <summary>Kills the server (SIGKILL: nothing of it runs after) and leaves it down.</summary>
    public async Task CrashServerAsync()
    {
        var server = Server ?? throw new InvalidOperationException("no server to crash");
        await server.CrashAsync(TimeSpan.FromSeconds(30));
        _stoppedOutput.Append(server.Output);
        await server.DisposeAsync();
        Server = null;
    }

    /// <summary>
    /// Another server of the site (a farm) on another host of the boot
    /// network at <paramref name="address"/>: same data folder (a shared
    /// store) and database, its own name; returns once it answers.
    /// </summary>
    public async Task<ServerProcess> StartOtherServerAsync(string address, string name, IEnumerable<string>? flags = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var host = await Network.AddHostAsync(address);
        var env = new Dictionary<string, string?>(Cli.Environment)
        {
            ["STREAMBOOT_BOOT_MENU_SECONDS"] = "2",
            ["STREAMBOOT_BOOT_RETRY_SECONDS"] = "3",
            ["STREAMBOOT_TFTP_PORT"] = "0",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }

        var server = ServerProcess.StartIn(
            host,
            ["--data", Cli.DataFolder, "--bind", "0.0.0.0", "--server-name", name, "--http-port", HttpPort.ToString(CultureInfo.InvariantCulture), "--nbd-port", NbdPort.ToString(CultureInfo.InvariantCulture), .. flags ?? []],
            env);
        _others.Add(server);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            Assert.False(server.HasExited, $"serve {name} exited:\n{server.Output}");
            var probe = await ProcessRunner.RunAsync("ip", ["netns", "exec", host, "curl", "-sf", "-o", "/dev/null", $"http://127.0.0.1:{HttpPort}/healthz"]);
            if (probe.ExitCode == 0)
            {
                return server;
            }

            Assert.True(DateTime.UtcNow < deadline, $"serve {name} did not answer in 3 minutes:\n{server.Output}");
            await Task.Delay(250);
        }
    }

    private readonly List<ServerProcess> _others = [];

    /// <summary>What the servers stopped by <see cref="RestartServerAsync"/> printed.</summary>
    public string StoppedServerOutput => _stoppedOutput.ToString();

    /// <summary>What the site's dnsmasq logged so far (with --log-dhcp: every DHCP exchange).</summary>
    public string DnsmasqOutput
    {
        get
        {
            lock (_dnsmasqOutput)
            {
                return _dnsmasqOutput.ToString();
            }
        }
    }

    /// <summary>Flags that make the server the boot network's DHCP server (full mode: addresses .100-.199) or its proxyDHCP.</summary>
    public string[] DhcpFlags(string mode) => mode == "full"
        ? ["--dhcp", "full", "--dhcp-interface", Network.Bridge, "--dhcp-range", $"{Network.Prefix}.100-{Network.Prefix}.199"]
        : ["--dhcp", mode, "--dhcp-interface", Network.Bridge];

    /// <summary>A site's existing DHCP server (dnsmasq, addresses only, no PXE) on another host of the boot network.</summary>
    public Task StartExistingDhcpAsync() => StartDnsmasqAsync([]);

    /// <summary>
    /// A site's DHCP server (dnsmasq on another host) set up to chain iPXE
    /// to this server's boot script, as the README tells an admin who keeps
    /// their own DHCP server: iPXE clients (user class iPXE) get
    /// <c>/boot.ipxe?mac=${net0/mac}&amp;uuid=...</c> (iPXE fills the settings in,
    /// so its first fetch is the decision), everyone gets this server as next-server (which
    /// the client boot component asks when its kernel command line names
    /// no server), iPXE is told not to wait for a proxyDHCP offer
    /// (option 175.176), and router advertisements spare iPXE its wait for
    /// IPv6 (DESIGN.md: 3 s and 13 s).
    /// </summary>
    public Task StartIpxeDhcpAsync() => StartIpxeDhcpAsync($"{BaseUrl}/boot.ipxe?mac=${{net0/mac}}&uuid=${{uuid}}&buildarch=${{buildarch}}&platform=${{platform}}");

    /// <summary>The same, with iPXE sent to another boot script (a peer chain's, in the boot-time bench).</summary>
    public Task StartIpxeDhcpAsync(string scriptUrl) => StartDnsmasqAsync(
    [
        "--dhcp-userclass=set:ipxe,iPXE",
        $"--dhcp-boot=tag:ipxe,{scriptUrl},,{Network.ServerAddress}",
        $"--dhcp-boot=tag:!ipxe,undionly.kpxe,,{Network.ServerAddress}",
        "--dhcp-option=tag:ipxe,175,b0:01:01",
        "--enable-ra",
        $"--dhcp-range=fd5b:{Network.Subnet}::,ra-only",
    ]);

    private async Task StartDnsmasqAsync(IEnumerable<string> options)
    {
        var dnsmasq = ProcessRunner.Find("dnsmasq", "/usr/sbin")
            ?? throw new InvalidOperationException("dnsmasq is not installed; apt-get install dnsmasq-base (test.sh installs it)");
        var host = await Network.AddHostAsync($"{Network.Prefix}.2");
        // An IPv6 prefix for router advertisements (unused otherwise).
        await ProcessRunner.RunAsync("ip", ["netns", "exec", host, "ip", "-6", "addr", "add", $"fd5b:{Network.Subnet}::2/64", "dev", "eth0", "nodad"]);
        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "netns", "exec", host, dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=0",
            "--interface=eth0", "--bind-interfaces", $"--dhcp-range={Network.Prefix}.100,{Network.Prefix}.199,255.255.255.0,1h",
            $"--dhcp-leasefile={Folder.Combine("dnsmasq.leases")}", "--log-dhcp", "--log-facility=-",
        }.Concat(options))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start dnsmasq");
        DataReceivedEventHandler keep = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_dnsmasqOutput)
                {
                    _dnsmasqOutput.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _peers.Add(process);
    }

    public async Task<QemuVm> StartVmAsync(string mac, IEnumerable<string>? extra = null, string nic = "e1000", int memoryMiB = 256)
    {
        var vm = await QemuVm.StartAsync(Network, mac, Folder.Path, extra, nic, memoryMiB);
        _owned.Add(vm);
        return vm;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        foreach (var peer in _peers)
        {
            if (!peer.HasExited)
            {
                peer.Kill(entireProcessTree: true);
                await peer.WaitForExitAsync();
            }

            peer.Dispose();
        }

        foreach (var other in _others)
        {
            if (!other.HasExited)
            {
                await other.TerminateAsync(TimeSpan.FromSeconds(30));
            }

            await other.DisposeAsync();
        }

        if (Server is not null)
        {
            if (!Server.HasExited)
            {
                Assert.Equal(0, await Server.TerminateAsync(TimeSpan.FromSeconds(30)));
            }

            await Server.DisposeAsync();
        }

        await Network.DisposeAsync();
        Cli.Dispose();
        Folder.Dispose();
    }
}
