using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>
/// A veth pair made for one test: <see cref="HostInterface"/> stays in the
/// root namespace with 10.77.N.1/24 (the server binds to it), its peer
/// <see cref="ClientInterface"/> lives in a new network namespace where the
/// clients run. Names carry the test process id and a counter, so parallel
/// tests and parallel test runs do not collide. Disposing deletes the
/// namespace, which deletes both ends.
/// </summary>
public sealed class TestLink : IAsyncDisposable
{
    private static int s_next;
    private bool _namespaceCreated;

    private TestLink(int id, int subnet)
    {
        var pid = Environment.ProcessId;
        Namespace = $"streamboot-dhcp-{pid}-{id}";
        HostInterface = $"sb{pid}h{id}";
        ClientInterface = $"sb{pid}c{id}";
        Subnet = subnet;
    }

    public string Namespace { get; }

    /// <summary>The root-namespace end (≤ 15 characters).</summary>
    public string HostInterface { get; }

    /// <summary>The namespace end.</summary>
    public string ClientInterface { get; }

    /// <summary>N of 10.77.N.0/24.</summary>
    public int Subnet { get; }

    public IPAddress HostAddress => Address(1);

    public IPAddress Address(int host) => IPAddress.Parse($"10.77.{Subnet}.{host}");

    public static async Task<TestLink> CreateAsync(string? clientMac = null)
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("the DHCP tests make network namespaces and veth pairs: run them as root");
        }

        var id = Interlocked.Increment(ref s_next);
        var link = new TestLink(id, FreeSubnet(id));
        try
        {
            await link.SetUpAsync(clientMac);
            return link;
        }
        catch
        {
            await link.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a program inside the namespace (ip netns exec).</summary>
    public Task<Streamboot.Testing.ProcessResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan? timeout = null) =>
        Tools.RunAsync(Tools.Ip, ["netns", "exec", Namespace, program, .. arguments], timeout);

    /// <summary>Gives the namespace end a static address (for unicast tests: INFORM, port 4011).</summary>
    public Task AddClientAddressAsync(IPAddress address) =>
        Tools.CheckAsync(Tools.Ip, "-n", Namespace, "addr", "add", $"{address}/24", "dev", ClientInterface);

    public async ValueTask DisposeAsync()
    {
        if (_namespaceCreated)
        {
            await Tools.RunAsync(Tools.Ip, ["netns", "del", Namespace]);
        }

        if (NetworkInterface.GetAllNetworkInterfaces().Any(n => n.Name == HostInterface))
        {
            await Tools.RunAsync(Tools.Ip, ["link", "del", HostInterface]);
        }
    }

    private async Task SetUpAsync(string? clientMac)
    {
        var ip = Tools.Ip;
        await Tools.CheckAsync(ip, "netns", "add", Namespace);
        _namespaceCreated = true;
        string[] peer = clientMac is null ? ["peer", "name", ClientInterface] : ["peer", "name", ClientInterface, "address", clientMac];
        await Tools.CheckAsync(ip, ["link", "add", HostInterface, "type", "veth", .. peer]);
        await Tools.CheckAsync(ip, "link", "set", ClientInterface, "netns", Namespace);

        // No duplicate address detection on either end: the IPv6 link-local
        // addresses are usable at once (router advertisements need them).
        await File.WriteAllTextAsync($"/proc/sys/net/ipv6/conf/{HostInterface}/accept_dad", "0");
        await Tools.CheckAsync(ip, "netns", "exec", Namespace, "sh", "-c", $"echo 0 > /proc/sys/net/ipv6/conf/{ClientInterface}/accept_dad");

        await Tools.CheckAsync(ip, "addr", "add", $"{HostAddress}/24", "dev", HostInterface);
        await Tools.CheckAsync(ip, "link", "set", HostInterface, "up");
        await Tools.CheckAsync(ip, "-n", Namespace, "link", "set", "lo", "up");
        await Tools.CheckAsync(ip, "-n", Namespace, "link", "set", ClientInterface, "up");
        for (var i = 0; i < 100 && (await File.ReadAllTextAsync($"/sys/class/net/{HostInterface}/operstate")).Trim() != "up"; i++)
        {
            await Task.Delay(20);
        }
    }

    /// <summary>A 10.77.N.0/24 no interface on this machine uses now.</summary>
    private static int FreeSubnet(int id)
    {
        var used = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork)
            .Select(a => a.GetAddressBytes())
            .Where(b => b[0] == 10 && b[1] == 77)
            .Select(b => (int)b[2])
            .ToHashSet();
        var start = ((Environment.ProcessId * 31) + (id * 7)) % 250;
        for (var i = 0; i < 250; i++)
        {
            var n = ((start + i) % 250) + 1;
            if (!used.Contains(n))
            {
                return n;
            }
        }

        throw new InvalidOperationException("no free 10.77.N.0/24 subnet");
    }
}
