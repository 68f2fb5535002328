using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>ISC dhclient against the server in full mode.</summary>
public sealed class DhclientTests
{
    [Fact]
    public async Task An_x64_uefi_client_configured_with_option_93_gets_an_address_and_ipxe_efi()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        await using var dhclient = new Dhclient(bench, Dhclient.EfiX64Config);
        var bound = await dhclient.LeaseAsync();

        Assert.Equal(bench.Link.Address(100).ToString(), bound["new_ip_address"]);
        Assert.Equal("ipxe.efi", bound["new_filename"]);
        Assert.Equal(bench.ServerAddress.ToString(), bound["new_dhcp_server_identifier"]);
        Assert.Equal(bench.ServerAddress.ToString(), bound["new_server_name"]);
        Assert.Equal("255.255.255.0", bound["new_subnet_mask"]);
        Assert.Equal("3600", bound["new_dhcp_lease_time"]);
        Assert.True(await Eventually.TrueAsync(() => bench.Log.Contains(3002, "arch EfiBc")), bench.Log.ToString());
    }

    [Fact]
    public async Task A_plain_client_gets_an_address_and_no_file_and_its_release_is_recorded()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        await using var dhclient = new Dhclient(bench);
        var bound = await dhclient.LeaseAsync();

        Assert.Equal(bench.Link.Address(100).ToString(), bound["new_ip_address"]);
        Assert.False(bound.ContainsKey("new_filename"), dhclient.Events.ToString());
        Assert.Equal(DhcpLeaseState.Bound, Assert.Single(bench.Store.Leases).State);

        await dhclient.ReleaseAsync();
        await Eventually.TrueAsync(() => bench.Store.Leases.Single().State == DhcpLeaseState.Released);
        Assert.Equal(DhcpLeaseState.Released, bench.Store.Leases.Single().State);
    }

    [Fact]
    public async Task A_restarted_client_reboots_into_the_same_address()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        await using var dhclient = new Dhclient(bench);
        var first = await dhclient.LeaseAsync();
        await dhclient.DisposeAsync();

        // The second run finds the lease file and starts in INIT-REBOOT (REQUEST with option 50, no server id).
        var second = await dhclient.LeaseAsync();
        Assert.Equal(first["new_ip_address"], second["new_ip_address"]);
        Assert.Equal("REBOOT", second["reason"]);
    }
}
