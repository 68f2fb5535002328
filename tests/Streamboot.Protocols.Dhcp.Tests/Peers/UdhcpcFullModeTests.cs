using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Leases;
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
        // 43: PXE_DISCOVERY_CONTROL (6) = 8, end.
        Assert.Equal("060108ff", bound["opt43"]);
        Assert.False(bound.ContainsKey("opt175"), "only iPXE gets option 175");
        var lease = Assert.Single(bench.Store.Leases);
        Assert.Equal(DhcpLeaseState.Bound, lease.State);
        Assert.True(await Eventually.TrueAsync(() => bench.Log.Contains(3002, "file undionly.kpxe")), bench.Log.ToString());
    }

    [Theory]
    [InlineData(null, "ipxe.efi")]
    [InlineData("snponly.efi", "snponly.efi")]
    public async Task An_x64_uefi_client_gets_the_efi_build(string? configured, string expected)
    {
        var boot = configured is null ? null : new DefaultDhcpBootPolicyOptions { EfiX64BootFile = configured };
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, boot: boot);
        var bound = (await Udhcpc.LeaseOnceAsync(bench, Udhcpc.EfiX64Pxe)).Last("bound")!;

        Assert.Equal(expected, bound["boot_file"]);
        Assert.Equal(bench.ServerAddress.ToString(), bound["siaddr"]);
        Assert.False(bound.ContainsKey("opt43"), "UEFI gets no option 43: it asks port 4011 if it wants more");
    }

    [Fact]
    public async Task An_ipxe_client_gets_the_script_url_and_no_pxedhcp()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, boot: new DefaultDhcpBootPolicyOptions { IpxeScriptUrl = "http://{server}:8080/boot.ipxe" });
        var bound = (await Udhcpc.LeaseOnceAsync(bench, Udhcpc.Ipxe)).Last("bound")!;

        Assert.Equal($"http://{bench.ServerAddress}:8080/boot.ipxe", bound["boot_file"]);
        // 175: no-pxedhcp (176) = 1, end: iPXE does not wait 3 s for a ProxyDHCP offer.
        Assert.Equal("b00101ff", bound["opt175"]);
    }

    [Fact]
    public async Task A_client_without_pxe_gets_an_address_and_no_boot_information()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        var bound = (await Udhcpc.LeaseOnceAsync(bench)).Last("bound")!;

        Assert.Equal(bench.Link.Address(100).ToString(), bound["ip"]);
        Assert.False(bound.ContainsKey("boot_file"));
        Assert.False(bound.ContainsKey("opt43"));
    }

    [Fact]
    public async Task A_reserved_mac_gets_its_reserved_address_outside_the_range()
    {
        const string mac = "02:5b:00:00:00:42";
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, clientMac: mac, reserve: (r, link) => r.Add(MacAddress.Parse(mac), link.Address(42)));
        var bound = (await Udhcpc.LeaseOnceAsync(bench, Udhcpc.BiosPxe)).Last("bound")!;

        Assert.Equal(bench.Link.Address(42).ToString(), bound["ip"]);
        Assert.Equal(MacAddress.Parse(mac), Assert.Single(bench.Store.Leases).Mac);
    }

    [Fact]
    public async Task A_client_asking_again_keeps_its_address()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        var first = (await Udhcpc.LeaseOnceAsync(bench)).Last("bound")!;
        var second = (await Udhcpc.LeaseOnceAsync(bench, "-r", bench.Link.Address(120).ToString())).Last("bound")!;

        Assert.Equal(first["ip"], second["ip"]);
    }

    [Fact]
    public async Task Renewal_keeps_the_address_and_release_frees_it_for_another_client()
    {
        // A pool of one address: a second client gets it only once the first has released it.
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, rangeStart: 77, rangeEnd: 77, leaseTime: TimeSpan.FromSeconds(4));
        var (udhcpc, output) = Udhcpc.StartStaying(bench, "-R");
        await using (udhcpc)
        {
            var renewed = await udhcpc.WaitForAsync(_ => ScriptEvents.Read(output).Last("renew") is not null, TimeSpan.FromSeconds(45));
            var events = ScriptEvents.Read(output);
            Assert.True(renewed, $"no renewal: {events}\n{udhcpc.Stderr}\n--- server\n{bench.Log}");
            Assert.Equal(bench.Link.Address(77).ToString(), events.Last("bound")!["ip"]);
            Assert.Equal(bench.Link.Address(77).ToString(), events.Last("renew")!["ip"]);
            Assert.True(await Eventually.TrueAsync(() => bench.Server.Counters.Sent(DhcpMessageType.Ack) >= 2));

            var other = await Nmap.BroadcastDiscoverAsync(bench, "02:5b:00:00:00:99");
            Assert.DoesNotContain("IP Offered", other, StringComparison.Ordinal);
            Assert.True(bench.Log.Contains(3006, "PoolExhausted"), bench.Log.ToString());

            await udhcpc.StopAsync();
        }

        await Eventually.TrueAsync(() => bench.Store.Leases.Single().State == DhcpLeaseState.Released);
        Assert.Equal(DhcpLeaseState.Released, Assert.Single(bench.Store.Leases).State);
        var offered = await Nmap.BroadcastDiscoverAsync(bench, "02:5b:00:00:00:99");
        Assert.True(offered.Contains($"IP Offered: {bench.Link.Address(77)}", StringComparison.Ordinal), $"{offered}\n--- server\n{bench.Log}");
    }

    [Fact]
    public async Task An_address_found_in_use_is_declined_and_the_client_gets_the_next_one()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full, rangeStart: 60, rangeEnd: 61);
        // Someone the server does not know uses .60: the host end of the link answers ARP for it.
        await Tools.CheckAsync(Tools.Ip, "addr", "add", $"{bench.Link.Address(60)}/32", "dev", bench.Link.HostInterface);

        var bound = (await Udhcpc.LeaseOnceAsync(bench, "-a1000")).Last("bound")!;

        Assert.Equal(bench.Link.Address(61).ToString(), bound["ip"]);
        var declined = bench.Store.Leases.Single(l => l.Address.Equals(bench.Link.Address(60)));
        Assert.Equal(DhcpLeaseState.Declined, declined.State);
        Assert.True(bench.Log.Contains(3005, "declined"), bench.Log.ToString());
    }
}
