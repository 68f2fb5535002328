using System.Net;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>
/// Proxy mode beside someone else's DHCP server: PXE clients get boot
/// information and no address, everyone else gets nothing. The PXE ROM's side
/// is played by crafted packets from the namespace (what a ROM sends), the
/// non-PXE side by nmap and udhcpc.
/// </summary>
public sealed class ProxyModeTests
{
    private static readonly MacAddress s_mac = MacAddress.Parse("02:5b:00:00:01:01");

    [Fact]
    public async Task A_bios_rom_gets_an_offer_without_address_that_boots_undionly_at_once()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        using var client = RawDhcpClient.Open(bench.Link);
        var offer = await client.ExchangeAsync(Requests.PxeDiscover(s_mac, DhcpClientArchitecture.IntelX86Pc));

        Assert.Equal(DhcpMessageType.Offer, offer.MessageType);
        Assert.Equal(IPAddress.Any, offer.Yiaddr);
        Assert.Equal(bench.ServerAddress, offer.Siaddr);
        Assert.Equal("undionly.kpxe", offer.File);
        Assert.Equal(bench.ServerAddress.ToString(), offer.Sname);
        Assert.Equal(bench.ServerAddress, offer.Options.GetAddress(DhcpOptionCode.ServerIdentifier));
        Assert.Equal("PXEClient", offer.Options.GetString(DhcpOptionCode.VendorClassIdentifier));
        Assert.Equal(new byte[] { 6, 1, 8, 255 }, offer.Options.Get(DhcpOptionCode.VendorSpecificInformation));
        Assert.Equal([0, .. Requests.MachineGuid.ToByteArray()], offer.Options.Get(DhcpOptionCode.ClientMachineIdentifier));
        Assert.Null(offer.Options.Get(DhcpOptionCode.IpAddressLeaseTime));
        Assert.Null(offer.Options.Get(DhcpOptionCode.SubnetMask));
        Assert.Empty(bench.Store.Leases);
    }

    [Fact]
    public async Task Uefi_firmware_gets_an_offer_without_option_43_then_the_file_on_port_4011()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        using var client = RawDhcpClient.Open(bench.Link);
        var offer = await client.ExchangeAsync(Requests.PxeDiscover(s_mac, DhcpClientArchitecture.EfiBc));
        Assert.Equal("ipxe.efi", offer.File);
        Assert.Null(offer.Options.Get(DhcpOptionCode.VendorSpecificInformation));

        // By now the firmware has its address from the real DHCP server; it unicasts to port 4011.
        await bench.Link.AddClientAddressAsync(bench.Link.Address(50));
        var request = Requests.PxeDiscover(s_mac, DhcpClientArchitecture.EfiBc, DhcpMessageType.Request);
        request = WithCiaddr(request, bench.Link.Address(50));
        request.Options.Set(DhcpOptionCode.VendorSpecificInformation, EncapsulatedOptions.Build(((byte)PxeVendorOption.BootItem, [0x80, 0x00, 0x00, 0x00])));
        var ack = await client.ExchangeAsync(request, new IPEndPoint(bench.ServerAddress, DhcpProtocol.PxePort));

        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(IPAddress.Any, ack.Yiaddr);
        Assert.Equal("ipxe.efi", ack.File);
        Assert.Equal("ipxe.efi", ack.Options.GetString(DhcpOptionCode.BootfileName));
        Assert.Equal(new byte[] { 71, 4, 0x80, 0, 0, 0, 255 }, ack.Options.Get(DhcpOptionCode.VendorSpecificInformation));
        Assert.True(await Eventually.TrueAsync(() => bench.Server.Counters.Sent(DhcpMessageType.Ack) == 1));
    }

    [Fact]
    public async Task Ipxe_gets_the_script_url()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        using var client = RawDhcpClient.Open(bench.Link);
        var offer = await client.ExchangeAsync(Requests.IpxeDiscover(s_mac, DhcpClientArchitecture.EfiBc));

        Assert.Equal($"http://{bench.ServerAddress}/boot.ipxe", offer.File);
        Assert.Equal(IPAddress.Any, offer.Yiaddr);
        Assert.Null(offer.Options.Get(DhcpOptionCode.IpxeEncapsulated));
    }

    [Fact]
    public async Task Nmap_without_pxe_gets_nothing_and_the_drop_is_logged()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        var output = await Nmap.BroadcastDiscoverAsync(bench, "02:5b:00:00:01:02");

        Assert.DoesNotContain("IP Offered", output, StringComparison.Ordinal);
        Assert.DoesNotContain("DHCPOFFER", output, StringComparison.Ordinal);
        Assert.Equal(1, bench.Server.Counters.Dropped(DhcpDropReason.NotPxeClient));
        Assert.True(bench.Log.Contains(3003, "NotPxeClient"), bench.Log.ToString());
    }

    [Fact]
    public async Task Udhcpc_without_pxe_gets_nothing()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        var (result, events) = await Udhcpc.TryLeaseAsync(bench);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Null(events.Last("bound"));
        Assert.Equal(0, bench.Server.Counters.Sent(DhcpMessageType.Offer));
        Assert.True(bench.Server.Counters.Dropped(DhcpDropReason.NotPxeClient) >= 2);
    }

    [Fact]
    public async Task A_pxe_client_of_an_architecture_the_policy_does_not_boot_gets_nothing()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Proxy);
        using var client = RawDhcpClient.Open(bench.Link);
        var request = Requests.PxeDiscover(s_mac, DhcpClientArchitecture.EfiArm64);
        await client.BroadcastAsync(request);

        Assert.Null(await client.ReceiveAsync(request.TransactionId, TimeSpan.FromSeconds(1)));
        Assert.Equal(1, bench.Server.Counters.Dropped(DhcpDropReason.NoBoot));
    }

    [Fact]
    public async Task Full_mode_answers_port_4011_too()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        using var client = RawDhcpClient.Open(bench.Link);
        await bench.Link.AddClientAddressAsync(bench.Link.Address(51));
        var request = WithCiaddr(Requests.PxeDiscover(s_mac, DhcpClientArchitecture.EfiX8664, DhcpMessageType.Request), bench.Link.Address(51));
        var ack = await client.ExchangeAsync(request, new IPEndPoint(bench.ServerAddress, DhcpProtocol.PxePort));

        Assert.Equal("ipxe.efi", ack.File);
        Assert.Equal(IPAddress.Any, ack.Yiaddr);
        Assert.Empty(bench.Store.Leases);
    }

    [Fact]
    public async Task Nmap_inform_gets_the_configuration_without_a_lease_in_full_mode()
    {
        await using var bench = await DhcpBench.StartAsync(DhcpMode.Full);
        await bench.Link.AddClientAddressAsync(bench.Link.Address(52));
        var output = await Nmap.InformAsync(bench);

        Assert.True(output.Contains("DHCP Message Type: DHCPACK", StringComparison.Ordinal), $"{output}\n--- server\n{bench.Log}");
        Assert.Contains("Subnet Mask: 255.255.255.0", output, StringComparison.Ordinal);
        Assert.Contains($"Server Identifier: {bench.ServerAddress}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Lease Time", output, StringComparison.Ordinal);
        Assert.Empty(bench.Store.Leases);
    }

    private static DhcpPacket WithCiaddr(DhcpPacket packet, IPAddress ciaddr) => new()
    {
        Op = packet.Op,
        TransactionId = packet.TransactionId,
        Chaddr = packet.Chaddr,
        Ciaddr = ciaddr,
        Options = packet.Options,
    };
}
