using System.Globalization;

namespace Streamboot.Testing;

/// <summary>
/// A private boot network for VM tests: a network namespace holding a
/// bridge with the server's address (10.N.0.1/24) and a tap device per VM.
/// Nothing in it can reach any other network; the namespace and everything
/// in it go when it is disposed.
/// </summary>
public sealed class BootNetwork : IAsyncDisposable
{
    private static int s_next;
    private int _taps;

    private BootNetwork(string name, int subnet)
    {
        Name = name;
        Subnet = subnet;
    }

    /// <summary>The namespace's name, for <c>ip netns exec</c>.</summary>
    public string Name { get; }

    public int Subnet { get; }

    public string Bridge => "sbbr0";

    /// <summary>The server's address on the boot network.</summary>
    public string ServerAddress => $"10.{Subnet}.0.1";

    public string Prefix => $"10.{Subnet}.0";

    public static async Task<BootNetwork> CreateAsync()
    {
        var n = Interlocked.Increment(ref s_next);
        // Distinct per process and per network, so parallel test runs never share one.
        var subnet = 100 + ((Environment.ProcessId + (n * 37)) % 150);
        var name = $"sbnet-{Environment.ProcessId}-{n}";
        var network = new BootNetwork(name, subnet);
        await Ip("netns", "add", name);
        try
        {
            await network.ExecOkAsync("ip", "link", "set", "lo", "up");
            await network.ExecOkAsync("ip", "link", "add", network.Bridge, "type", "bridge");
            await network.ExecOkAsync("ip", "addr", "add", $"{network.ServerAddress}/24", "dev", network.Bridge);
            await network.ExecOkAsync("ip", "link", "set", network.Bridge, "up");
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new tap device on the bridge, for one VM's NIC.</summary>
    public async Task<string> AddTapAsync()
    {
        var tap = $"sbtap{Interlocked.Increment(ref _taps).ToString(CultureInfo.InvariantCulture)}";
        await ExecOkAsync("ip", "tuntap", "add", "dev", tap, "mode", "tap");
        await ExecOkAsync("ip", "link", "set", tap, "master", Bridge);
        await ExecOkAsync("ip", "link", "set", tap, "up");
        return tap;
    }

    /// <summary>A veth pair whose far end is in a second namespace (another host on the boot network); returns that namespace.</summary>
    public async Task<string> AddHostAsync(string address)
    {
        var other = $"{Name}-h{Interlocked.Increment(ref _taps).ToString(CultureInfo.InvariantCulture)}";
        await Ip("netns", "add", other);
        var near = $"sbv{Interlocked.Increment(ref _taps).ToString(CultureInfo.InvariantCulture)}";
        await ExecOkAsync("ip", "link", "add", near, "type", "veth", "peer", "name", "eth0", "netns", other);
        await ExecOkAsync("ip", "link", "set", near, "master", Bridge);
        await ExecOkAsync("ip", "link", "set", near, "up");
        await RunOkAsync("ip", "netns", "exec", other, "ip", "addr", "add", $"{address}/24", "dev", "eth0");
        await RunOkAsync("ip", "netns", "exec", other, "ip", "link", "set", "eth0", "up");
        await RunOkAsync("ip", "netns", "exec", other, "ip", "link", "set", "lo", "up");
        _hosts.Add(other);
        return other;
    }

    /// <summary>
    /// A second namespace with <paramref name="links"/> veth links on the
    /// bridge (named c0, c1, ... there), no addresses, each with the MAC
    /// <paramref name="macOf"/> gives it: several DHCP clients on one host.
    /// </summary>
    public async Task<(string Namespace, IReadOnlyList<string> Links)> AddClientHostAsync(int links, Func<int, string> macOf)
    {
        var other = $"{Name}-h{Interlocked.Increment(ref _taps).ToString(CultureInfo.InvariantCulture)}";
        await Ip("netns", "add", other);
        _hosts.Add(other);
        var names = new List<string>();
        for (var i = 0; i < links; i++)
        {
            var near = $"sbv{Interlocked.Increment(ref _taps).ToString(CultureInfo.InvariantCulture)}";
            var far = $"c{i.ToString(CultureInfo.InvariantCulture)}";
            await ExecOkAsync("ip", "link", "add", near, "type", "veth", "peer", "name", far, "netns", other);
            await ExecOkAsync("ip", "link", "set", near, "master", Bridge);
            await ExecOkAsync("ip", "link", "set", near, "up");
            await RunOkAsync("ip", "-n", other, "link", "set", far, "address", macOf(i));
            await RunOkAsync("ip", "-n", other, "link", "set", far, "up");
            names.Add(far);
        }

        await RunOkAsync("ip", "-n", other, "link", "set", "lo", "up");
        return (other, names);
    }

    private readonly List<string> _hosts = [];

    public Task<ProcessResult> ExecAsync(string program, params string[] arguments) =>
        ProcessRunner.RunAsync("ip", ["netns", "exec", Name, program, .. arguments]);

    public async Task ExecOkAsync(string program, params string[] arguments) =>
        await RunOkAsync("ip", ["netns", "exec", Name, program, .. arguments]);

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await ProcessRunner.RunAsync("ip", ["netns", "delete", host]);
        }

        // Deleting the namespace takes its bridge, taps and veths with it.
        await ProcessRunner.RunAsync("ip", ["netns", "delete", Name]);
    }

    private static Task Ip(params string[] arguments) => RunOkAsync("ip", arguments);

    private static async Task RunOkAsync(string program, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(program, arguments, timeout: TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {result}");
        }
    }
}
