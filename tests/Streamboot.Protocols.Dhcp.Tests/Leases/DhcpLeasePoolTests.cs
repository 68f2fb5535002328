using System.Net;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Leases;

public sealed class DhcpLeasePoolTests : IDisposable
{
    private static readonly MacAddress s_a = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress s_b = MacAddress.Parse("02:00:00:00:00:0b");
    private readonly ManualTime _time = new();
    private readonly InMemoryDhcpLeaseStore _store = new();
    private readonly DhcpReservations _reservations = new();
    private readonly DhcpLeasePool _pool;

    public DhcpLeasePoolTests() => _pool = NewPool();

    public void Dispose() => _pool.Dispose();

    private static IPAddress A(int host) => IPAddress.Parse($"10.9.0.{host}");

    private DhcpLeasePool NewPool(int start = 10, int end = 12) => new(
        new DhcpPoolOptions
        {
            RangeStart = A(start),
            RangeEnd = A(end),
            SubnetMask = IPAddress.Parse("255.255.255.0"),
            LeaseTime = TimeSpan.FromMinutes(10),
            OfferHoldTime = TimeSpan.FromSeconds(30),
            DeclineQuarantine = TimeSpan.FromMinutes(5),
        },
        _store,
        _reservations,
        _time,
        [A(11)]);

    private async Task<IPAddress> BindAsync(MacAddress mac, IPAddress? requested = null)
    {
        var offer = await _pool.OfferAsync(mac, requested, default);
        Assert.Equal(DhcpPoolOutcome.Granted, offer.Outcome);
        var ack = await _pool.RequestAsync(mac, offer.Lease!.Address, "host", default);
        Assert.Equal(DhcpPoolOutcome.Granted, ack.Outcome);
        return ack.Lease!.Address;
    }

    [Fact]
    public async Task Offers_skip_excluded_addresses_and_hold_them_for_the_client()
    {
        Assert.Equal(A(10), await BindAsync(s_a));
        var offer = await _pool.OfferAsync(s_b, null, default);
        Assert.Equal(A(12), offer.Lease!.Address); // .11 is the server's
        Assert.Equal(DhcpLeaseState.Offered, offer.Lease.State);
        // The offer is a claim in the store, so another server sharing it cannot give .12 away.
        Assert.Equal(s_b, _store.Leases.Single(l => l.State == DhcpLeaseState.Offered).Mac);
        Assert.Equal(DhcpPoolOutcome.Exhausted, (await _pool.OfferAsync(MacAddress.Parse("02:00:00:00:00:0c"), null, default)).Outcome);

        // An offer not taken up is free again after the hold time.
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(A(12), (await _pool.OfferAsync(MacAddress.Parse("02:00:00:00:00:0c"), null, default)).Lease!.Address);
    }

    [Fact]
    public async Task A_client_gets_its_previous_address_back_even_after_expiry_and_its_requested_one_when_free()
    {
        Assert.Equal(A(12), await BindAsync(s_a, A(12)));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(A(12), (await _pool.OfferAsync(s_a, A(10), default)).Lease!.Address);
        Assert.Equal(A(10), (await _pool.OfferAsync(s_b, A(12), default)).Lease!.Address);
    }

    [Fact]
    public async Task Requests_for_wrong_addresses_are_refused()
    {
        await BindAsync(s_a);
        Assert.Equal(DhcpPoolOutcome.Refused, (await _pool.RequestAsync(s_b, A(10), null, default)).Outcome); // a's
        Assert.Equal(DhcpPoolOutcome.Refused, (await _pool.RequestAsync(s_b, IPAddress.Parse("192.168.1.5"), null, default)).Outcome); // another network
        Assert.Equal(DhcpPoolOutcome.Refused, (await _pool.RequestAsync(s_b, A(11), null, default)).Outcome); // excluded
        Assert.Equal(DhcpPoolOutcome.Refused, (await _pool.RequestAsync(s_b, A(200), null, default)).Outcome); // outside the range
        Assert.Equal(DhcpPoolOutcome.Granted, (await _pool.RequestAsync(s_b, A(12), null, default)).Outcome); // free: granted without a record
    }

    [Fact]
    public async Task Renewal_extends_the_lease_and_moving_frees_the_old_address()
    {
        await BindAsync(s_a);
        _time.Advance(TimeSpan.FromMinutes(6));
        var renewed = await _pool.RequestAsync(s_a, A(10), null, default);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(10), renewed.Lease!.Expires);

        await _pool.RequestAsync(s_a, A(12), null, default);
        Assert.Equal(DhcpLeaseState.Released, _store.Leases.Single(l => l.Address.Equals(A(10))).State);
    }

    [Fact]
    public async Task Reservations_win_and_are_never_given_to_others()
    {
        _reservations.Add(s_a, A(50));
        _reservations.Add(s_b, A(10));
        Assert.Equal(A(50), await BindAsync(s_a));
        Assert.Equal(DhcpPoolOutcome.Refused, (await _pool.RequestAsync(s_a, A(12), null, default)).Outcome);
        var other = MacAddress.Parse("02:00:00:00:00:0c");
        Assert.Equal(A(12), (await _pool.OfferAsync(other, A(10), default)).Lease!.Address);
        Assert.Equal(DhcpPoolOutcome.Refused, (await _pool.RequestAsync(other, A(10), null, default)).Outcome);
    }

    [Fact]
    public async Task Release_frees_and_decline_quarantines()
    {
        await BindAsync(s_a);
        Assert.Null(await _pool.ReleaseAsync(s_b, A(10), default));
        Assert.NotNull(await _pool.ReleaseAsync(s_a, A(10), default));
        Assert.Equal(A(10), (await _pool.OfferAsync(s_b, A(10), default)).Lease!.Address);

        Assert.NotNull(await _pool.DeclineAsync(s_b, A(10), default));
        Assert.Equal(A(12), (await _pool.OfferAsync(s_b, null, default)).Lease!.Address);
        Assert.Equal(DhcpPoolOutcome.Refused, (await _pool.RequestAsync(s_a, A(10), null, default)).Outcome);
        _time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(DhcpPoolOutcome.Granted, (await _pool.RequestAsync(s_a, A(10), null, default)).Outcome);
    }

    [Fact]
    public async Task Leases_survive_a_restart_through_the_store()
    {
        await BindAsync(s_a);
        using var restarted = NewPool();
        await restarted.LoadAsync(default);
        Assert.Equal(A(10), (await restarted.OfferAsync(s_a, null, default)).Lease!.Address);
        Assert.Equal(A(12), (await restarted.OfferAsync(s_b, A(10), default)).Lease!.Address);
    }
}
