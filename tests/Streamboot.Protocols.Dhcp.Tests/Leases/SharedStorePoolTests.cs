using System.Net;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Leases;

/// <summary>
/// Two pools on one store: what two servers of a farm do on one database.
/// Each pool's memory is only a hint; the store's claim decides (the
/// database version of this race is in Streamboot.Server.Tests).
/// </summary>
public sealed class SharedStorePoolTests : IDisposable
{
    private static readonly MacAddress s_a = MacAddress.Parse("02:00:00:00:01:0a");
    private static readonly MacAddress s_b = MacAddress.Parse("02:00:00:00:01:0b");
    private readonly ManualTime _time = new();
    private readonly InMemoryDhcpLeaseStore _store = new();
    private readonly DhcpReservations _reservations = new();
    private readonly DhcpLeasePool _one;
    private readonly DhcpLeasePool _two;

    public SharedStorePoolTests()
    {
        _one = NewPool(A(1));
        _two = NewPool(A(2));
    }

    public void Dispose()
    {
        _one.Dispose();
        _two.Dispose();
    }

    private static IPAddress A(int host) => IPAddress.Parse($"10.9.1.{host}");

    private DhcpLeasePool NewPool(IPAddress server) => new(
        new DhcpPoolOptions
        {
            RangeStart = A(10),
            RangeEnd = A(13),
            SubnetMask = IPAddress.Parse("255.255.255.0"),
            LeaseTime = TimeSpan.FromMinutes(10),
            OfferHoldTime = TimeSpan.FromSeconds(30),
        },
        _store,
        _reservations,
        _time,
        [server]);

    [Fact]
    public async Task Two_pools_offer_two_clients_different_addresses_though_neither_knows_the_others_offer()
    {
        await _one.LoadAsync(default);
        await _two.LoadAsync(default);

        var first = await _one.OfferAsync(s_a, null, default);
        var second = await _two.OfferAsync(s_b, null, default);

        Assert.Equal(A(10), first.Lease!.Address);
        // The second pool's hint said .10 was free; its claim lost and it took the next one.
        Assert.Equal(A(11), second.Lease!.Address);
        Assert.Equal(2, _store.Leases.Count);
        Assert.Equal(DhcpPoolOutcome.Refused, (await _two.RequestAsync(s_b, A(10), null, default)).Outcome);
        Assert.Equal(DhcpPoolOutcome.Granted, (await _two.RequestAsync(s_b, A(11), null, default)).Outcome);
    }

    [Fact]
    public async Task A_client_gets_the_address_it_holds_from_every_pool_and_keeps_its_bound_lease()
    {
        var offer = await _one.OfferAsync(s_a, null, default);
        var bound = await _one.RequestAsync(s_a, offer.Lease!.Address, "a", default);

        var again = await _two.OfferAsync(s_a, null, default);

        Assert.Equal(bound.Lease!.Address, again.Lease!.Address);
        Assert.Equal(DhcpLeaseState.Bound, again.Lease.State);
        Assert.Equal(DhcpLeaseState.Bound, _store.Leases.Single().State);

        // Renewal at the other server (REBINDING reaches every server) extends it there too.
        _time.Advance(TimeSpan.FromMinutes(8));
        var renewed = await _two.RequestAsync(s_a, bound.Lease.Address, "a", default);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(10), renewed.Lease!.Expires);
    }

    [Fact]
    public async Task Withdrawing_an_offer_frees_it_for_the_other_pool_but_keeps_the_address_the_client_chose()
    {
        var fromOne = await _one.OfferAsync(s_a, null, default);
        var fromTwo = await _two.OfferAsync(s_a, null, default);
        // The second pool found the client's record from the first and offered the same address.
        Assert.Equal(fromOne.Lease!.Address, fromTwo.Lease!.Address);

        // A client that was offered two addresses by two pools and chose the second's.
        var other = await _two.OfferAsync(s_b, null, default);
        await _one.WithdrawOfferAsync(s_b, other.Lease!.Address, default);
        Assert.Equal(DhcpPoolOutcome.Granted, (await _two.RequestAsync(s_b, other.Lease.Address, null, default)).Outcome);

        await _two.WithdrawOfferAsync(s_a, chosen: null, default);
        Assert.False(_store.Leases.Single(l => l.Mac == s_a).IsActive(_time.GetUtcNow()));
        var c = MacAddress.Parse("02:00:00:00:01:0c");
        Assert.Equal(fromOne.Lease.Address, (await _two.OfferAsync(c, fromOne.Lease.Address, default)).Lease!.Address);
    }

    [Fact]
    public async Task A_pool_whose_hint_is_full_reloads_it_before_it_says_exhausted()
    {
        for (var i = 0; i < 4; i++)
        {
            var mac = MacAddress.Parse($"02:00:00:00:02:{i:x2}");
            var offer = await _one.OfferAsync(mac, null, default);
            Assert.Equal(DhcpPoolOutcome.Granted, offer.Outcome);
            await _one.RequestAsync(mac, offer.Lease!.Address, null, default);
        }

        await _two.LoadAsync(default);
        Assert.Equal(DhcpPoolOutcome.Exhausted, (await _two.OfferAsync(s_b, null, default)).Outcome);
        await _one.ReleaseAsync(MacAddress.Parse("02:00:00:00:02:01"), A(11), default);
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(A(11), (await _two.OfferAsync(s_b, null, default)).Lease!.Address);
    }
}
