using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>busybox udhcpc against the server as the network's DHCP server.</summary>
public sealed class UdhcpcFullModeTests
{
    [Fact]
    public async Task A_bios_pxe_client_gets_an_address_from_the_pool_and_undionly()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        var events = await Udhcpc.LeaseOnceAsync(bench, Udhcpc.BiosPxe);

        var bound = events.Last("bound");
        Assert.True(bound is not null, events.ToString());
        Assert.Equal(bench.Link.Address(100).ToString(), bound["ip"]);
        Assert.Equal(bench.ServerAddress.ToString(), bound["serverid"]);
        Assert.Equal(bench.ServerAddress.ToString(), bound["siaddr"]);
        Assert.Equal("undionly.kpxe", bound["boot_file"]);
        Assert.Equal("255.255.255.0", bound["subnet"]);
        Assert.Equal("boot.test", bound["domain"]);
        Assert.Equal($"{bench.Link.Address(2)} {bench.Link.Address(3)}", bound["dns"]);
        Assert.Equal("3600", bound["lease"]);
        Assert.Equal(Leases.DhcpLeaseState.Bound, bench.Store.Leases.Single().State);
    }
}
