using System.Net;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Testing;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>A test's whole setup: a veth link, the server in this process on its root end, logs, leases and a temp folder.</summary>
public sealed class DhcpBench : IAsyncDisposable
{
    private DhcpBench(TestLink link, DhcpServer server, LogCapture log, InMemoryDhcpLeaseStore store, DhcpReservations reservations, DhcpServerOptions options)
    {
        Link = link;
        Server = server;
        Log = log;
        Store = store;
        Reservations = reservations;
        Options = options;
    }

    public TestLink Link { get; }

    public DhcpServer Server { get; }

    public LogCapture Log { get; }

    public InMemoryDhcpLeaseStore Store { get; }

    public DhcpReservations Reservations { get; }

    /// <summary>The options the server runs with.</summary>
    public DhcpServerOptions Options { get; }

    public TempFolder Folder { get; } = new("streamboot-dhcp");

    public IPAddress ServerAddress => Link.HostAddress;

    public static async Task<DhcpBench> StartAsync(
        DhcpMode mode,
        string? clientMac = null,
        int rangeStart = 100,
        int rangeEnd = 150,
        TimeSpan? leaseTime = null,
        DefaultDhcpBootPolicyOptions? boot = null,
        Action<DhcpReservations, TestLink>? reserve = null,
        bool routerAdvertisements = false,
        IDhcpBootPolicy? policy = null,
        int? maxDatagramSize = null,
        Func<InMemoryDhcpLeaseStore, IDhcpLeaseStore>? wrapStore = null)
    {
        var link = await TestLink.CreateAsync(clientMac);
        try
        {
            var log = new LogCapture();
            var store = new InMemoryDhcpLeaseStore();
            var reservations = new DhcpReservations();
            reserve?.Invoke(reservations, link);
            var options = new DhcpServerOptions
            {
                InterfaceName = link.HostInterface,
                Mode = mode,
                SendRouterAdvertisements = routerAdvertisements,
                MaxDatagramSize = maxDatagramSize ?? new DhcpServerOptions { InterfaceName = "unused" }.MaxDatagramSize,
                Pool = new DhcpPoolOptions
                {
                    RangeStart = link.Address(rangeStart),
                    RangeEnd = link.Address(rangeEnd),
                    SubnetMask = IPAddress.Parse("255.255.255.0"),
                    DnsServers = [link.Address(2), link.Address(3)],
                    DomainName = "boot.test",
                    LeaseTime = leaseTime ?? TimeSpan.FromHours(1),
                },
            };
            var server = new DhcpServer(options, policy ?? new DefaultDhcpBootPolicy(boot), wrapStore?.Invoke(store) ?? store, reservations, log);
            await server.StartAsync();
            return new DhcpBench(link, server, log, store, reservations, options);
        }
        catch
        {
            await link.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Link.DisposeAsync();
        Folder.Dispose();
    }
}
