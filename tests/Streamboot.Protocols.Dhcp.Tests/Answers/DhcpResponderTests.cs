using System.Net;
using Streamboot.Protocols.Dhcp.Answers;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Answers;

/// <summary>The RFC 2131 state rules and where replies go, without a network.</summary>
public sealed class DhcpResponderTests : IDisposable
{
    private static readonly IPAddress s_server = IPAddress.Parse("10.8.0.1");
    private static readonly IPEndPoint s_from = new(IPAddress.Any, 68);
    private static readonly MacAddress s_mac = MacAddress.Parse("02:00:00:00:01:01");
    private readonly DhcpLeasePool _pool;
    private readonly DhcpResponder _full;

    public DhcpResponderTests()
    {
        _pool = new DhcpLeasePool(
            new DhcpPoolOptions { RangeStart = A(100), RangeEnd = A(110), SubnetMask = IPAddress.Parse("255.255.255.0"), Router = A(254) },
            new InMemoryDhcpLeaseStore(),
            new DhcpReservations(),
            excluded: [s_server]);
        _full = new DhcpResponder(DhcpMode.Full, new DefaultDhcpBootPolicy(), _pool, s_server);
    }

    public void Dispose() => _pool.Dispose();

    private static IPAddress A(int host) => IPAddress.Parse($"10.8.0.{host}");

    private Task<DhcpAnswer> AnswerAsync(DhcpPacket request, bool pxePort = false, IPEndPoint? from = null) =>
        _full.AnswerAsync(request, pxePort, from ?? s_from, default).AsTask();

    private static DhcpPacket Request(IPAddress? requested = null, IPAddress? serverId = null, IPAddress? ciaddr = null, IPAddress? giaddr = null)
    {
        var packet = Requests.New(s_mac, DhcpMessageType.Request, ciaddr: ciaddr);
        if (giaddr is not null)
        {
            packet = new DhcpPacket { TransactionId = packet.TransactionId, Chaddr = packet.Chaddr, Giaddr = giaddr, Options = packet.Options };
        }

        if (requested is not null)
        {
            packet.Options.Set(DhcpOptionCode.RequestedIpAddress, requested);
        }

        if (serverId is not null)
        {
            packet.Options.Set(DhcpOptionCode.ServerIdentifier, serverId);
        }

        return packet;
    }

    [Fact]
    public async Task Selecting_init_reboot_and_renewing_are_acked_where_rfc_2131_says()
    {
        var offer = await AnswerAsync(Requests.New(s_mac, DhcpMessageType.Discover));
        Assert.Equal(A(100), offer.Reply!.Yiaddr);
        Assert.Equal(new IPEndPoint(IPAddress.Broadcast, 68), offer.Destination);
        Assert.Equal(A(254), offer.Reply.Options.GetAddress(DhcpOptionCode.Router));
        Assert.Equal(1800u, offer.Reply.Options.GetUInt32(DhcpOptionCode.RenewalTime));
        Assert.Equal(3150u, offer.Reply.Options.GetUInt32(DhcpOptionCode.RebindingTime));

        var selecting = await AnswerAsync(Request(A(100), s_server));
        Assert.Equal(DhcpMessageType.Ack, selecting.Reply!.MessageType);
        Assert.Equal(new IPEndPoint(IPAddress.Broadcast, 68), selecting.Destination);

        var initReboot = await AnswerAsync(Request(A(100)));
        Assert.Equal(DhcpMessageType.Ack, initReboot.Reply!.MessageType);

        var renewing = await AnswerAsync(Request(ciaddr: A(100)));
        Assert.Equal(DhcpMessageType.Ack, renewing.Reply!.MessageType);
        Assert.Equal(new IPEndPoint(A(100), 68), renewing.Destination);
        Assert.Equal(A(100), renewing.Reply.Ciaddr);
    }

    [Fact]
    public async Task A_wrong_address_is_nakked_by_broadcast_and_another_servers_selection_is_silent()
    {
        var nak = await AnswerAsync(Request(IPAddress.Parse("192.168.7.7")));
        Assert.Equal(DhcpMessageType.Nak, nak.Reply!.MessageType);
        Assert.Equal(IPAddress.Any, nak.Reply.Yiaddr);
        Assert.Equal(new IPEndPoint(IPAddress.Broadcast, 68), nak.Destination);
        Assert.Contains("not on this network", nak.Reply.Options.GetString(DhcpOptionCode.Message), StringComparison.Ordinal);

        var nakWhileRenewing = await AnswerAsync(Request(ciaddr: IPAddress.Parse("192.168.7.7")));
        Assert.Equal(new IPEndPoint(IPAddress.Broadcast, 68), nakWhileRenewing.Destination);

        var other = await AnswerAsync(Request(A(100), IPAddress.Parse("10.8.0.2")));
        Assert.Equal(DhcpDropReason.OtherServerSelected, other.Drop);
        Assert.Equal(DhcpDropReason.NoRequestedAddress, (await AnswerAsync(Request())).Drop);
    }

    [Fact]
    public async Task Through_a_relay_replies_go_to_the_relay_on_the_server_port()
    {
        var offer = await AnswerAsync(Request(A(100), giaddr: IPAddress.Parse("10.8.0.254")));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.8.0.254"), 67), offer.Destination);

        var nak = await AnswerAsync(Request(IPAddress.Parse("192.168.7.7"), giaddr: IPAddress.Parse("10.8.0.254")));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.8.0.254"), 67), nak.Destination);
        Assert.True(nak.Reply!.Broadcast);
    }

    [Fact]
    public async Task Inform_gets_configuration_and_no_lease()
    {
        var inform = Requests.New(s_mac, DhcpMessageType.Inform, ciaddr: A(20));
        var ack = await AnswerAsync(inform);
        Assert.Equal(DhcpMessageType.Ack, ack.Reply!.MessageType);
        Assert.Equal(IPAddress.Any, ack.Reply.Yiaddr);
        Assert.Null(ack.Reply.Options.GetUInt32(DhcpOptionCode.IpAddressLeaseTime));
        Assert.Equal(new IPEndPoint(A(20), 68), ack.Destination);
        Assert.Empty(_pool.Snapshot());
    }

    [Fact]
    public async Task A_boot_url_too_long_for_the_file_field_goes_in_option_67_only()
    {
        var url = "http://10.8.0.1/" + new string('x', 150);
        var policy = new DefaultDhcpBootPolicy(new DefaultDhcpBootPolicyOptions { IpxeScriptUrl = url });
        var proxy = new DhcpResponder(DhcpMode.Proxy, policy, null, s_server);
        var answer = await proxy.AnswerAsync(Requests.IpxeDiscover(s_mac, DhcpClientArchitecture.IntelX86Pc), false, s_from, default);

        Assert.Equal("", answer.Reply!.File);
        Assert.Equal(url, answer.Reply.Options.GetString(DhcpOptionCode.BootfileName));
    }

    [Fact]
    public async Task A_reply_bigger_than_the_client_takes_is_not_sent()
    {
        var url = "http://10.8.0.1/" + new string('x', 600);
        var policy = new DefaultDhcpBootPolicy(new DefaultDhcpBootPolicyOptions { IpxeScriptUrl = url });
        var proxy = new DhcpResponder(DhcpMode.Proxy, policy, null, s_server);
        var request = Requests.IpxeDiscover(s_mac, DhcpClientArchitecture.IntelX86Pc);
        request.Options.Remove(DhcpOptionCode.MaximumMessageSize);

        var answer = await proxy.AnswerAsync(request, false, s_from, default);
        Assert.Equal(DhcpDropReason.ReplyTooLarge, answer.Drop);
    }

    [Fact]
    public void User_classes_read_both_rfc_3004_lists_and_bare_strings()
    {
        Assert.Equal(["iPXE"], DhcpClient.UserClassesOf("iPXE"u8.ToArray()));
        Assert.Equal(["ab", "c"], DhcpClient.UserClassesOf([2, (byte)'a', (byte)'b', 1, (byte)'c']));
        Assert.Empty(DhcpClient.UserClassesOf(null));
    }
}
