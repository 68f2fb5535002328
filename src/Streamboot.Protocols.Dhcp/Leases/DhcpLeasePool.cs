using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>
/// The address pool of full mode (RFC 2131 §4.3): which address a client is
/// offered, whether its REQUEST is granted, RELEASE and DECLINE. One client
/// (one MAC: option 61 is not used, because the PXE ROM, iPXE and the booted
/// OS send different client identifiers for the same machine and it should
/// keep one address through the chain) has at most one address.
/// <para>
/// Who holds an address is decided by the <see cref="IDhcpLeaseStore"/>,
/// never here: an offer, a grant, a release and a decline are each one
/// conditional write there (<see cref="DhcpClaimRule"/>), before the answer
/// goes out. Several servers that share a store (a farm on one database)
/// therefore never give one address to two clients. What the pool keeps in
/// memory is a hint of which addresses are taken, so that it asks the store
/// about likely-free ones first; a claim lost to another server reloads the
/// hint once and the next address is tried. One async lock orders this
/// server's own requests.
/// </para>
/// </summary>
public sealed class DhcpLeasePool : IDisposable
{
    /// <summary>Claims one DISCOVER may lose before it goes unanswered (the client asks again): bounds the store round trips one client causes.</summary>
    public const int MaxLostClaimsPerOffer = 8;

    /// <summary>Least time between two reloads of the hint when it shows no free address.</summary>
    private static readonly TimeSpan s_exhaustedReloadInterval = TimeSpan.FromSeconds(5);
    private static readonly DhcpLeaseState[] s_bound = [DhcpLeaseState.Bound];
    private static readonly DhcpLeaseState[] s_held = [DhcpLeaseState.Bound, DhcpLeaseState.Offered];
    private static readonly DhcpLeaseState[] s_offered = [DhcpLeaseState.Offered];

    private readonly DhcpPoolOptions _options;
    private readonly IDhcpLeaseStore _store;
    private readonly IDhcpReservations _reservations;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DhcpCounters? _counters;
    private readonly LogThrottle _lostClaimLog;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<uint, DhcpLease> _hint = [];
    private readonly HashSet<uint> _excluded;
    private readonly uint _mask;
    private readonly uint _start;
    private readonly uint _end;
    private DateTimeOffset _lastExhaustedReload = DateTimeOffset.MinValue;

    public DhcpLeasePool(
        DhcpPoolOptions options,
        IDhcpLeaseStore store,
        IDhcpReservations reservations,
        TimeProvider? timeProvider = null,
        IEnumerable<IPAddress>? excluded = null,
        ILogger? logger = null,
        DhcpCounters? counters = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _reservations = reservations ?? throw new ArgumentNullException(nameof(reservations));
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _counters = counters;
        _lostClaimLog = new LogThrottle(60, TimeSpan.FromMinutes(1), _time);
        _mask = IPv4.ToUInt32(options.SubnetMask);
        _start = IPv4.ToUInt32(options.RangeStart);
        _end = IPv4.ToUInt32(options.RangeEnd);
        _excluded = [.. (excluded ?? []).Select(IPv4.ToUInt32)];
        if (options.Router is { } router)
        {
            _excluded.Add(IPv4.ToUInt32(router));
        }
    }

    public DhcpPoolOptions Options => _options;

    /// <summary>
    /// Reads the store into the hint. Records outside this pool's subnet are
    /// left alone: they may be another network's, served by another server of
    /// the same site.
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ReloadHintAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public bool InSubnet(IPAddress address) => (IPv4.ToUInt32(address) & _mask) == (_start & _mask);

    /// <summary>Every lease this server knows of (its hint of the store), offers included.</summary>
    public IReadOnlyList<DhcpLease> Snapshot()
    {
        _lock.Wait();
        try
        {
            return [.. _hint.OrderBy(p => p.Key).Select(p => p.Value)];
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// DHCPDISCOVER: the client's reservation, else its current or previous
    /// address (from whichever server), else the address it asks for (option
    /// 50), else a never-used address, else the one free the longest (RFC 2131
    /// §4.3.1). The address is claimed in the store for
    /// <see cref="DhcpPoolOptions.OfferHoldTime"/>; a bound client that starts
    /// over keeps its lease as it is.
    /// </summary>
    public async ValueTask<DhcpPoolResult> OfferAsync(MacAddress mac, IPAddress? requested, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var reserved = await _reservations.FindAddressAsync(mac, cancellationToken).ConfigureAwait(false);
            if (reserved is not null)
            {
                return InSubnet(reserved) && await TryHoldAsync(mac, IPv4.ToUInt32(reserved), now, cancellationToken).ConfigureAwait(false) is { } held
                    ? DhcpPoolResult.Granted(held)
                    : DhcpPoolResult.Exhausted($"the reserved address {reserved} is in use or outside the subnet");
            }

            var tried = new HashSet<uint>();
            foreach (var known in await _store.FindByMacAsync(mac, cancellationToken).ConfigureAwait(false))
            {
                var a = IPv4.ToUInt32(known.Address);
                if (known.State != DhcpLeaseState.Declined && InSubnet(known.Address) && tried.Add(a)
                    && await IsAssignableAsync(mac, a, cancellationToken).ConfigureAwait(false)
                    && await TryHoldAsync(mac, a, now, cancellationToken).ConfigureAwait(false) is { } previous)
                {
                    return DhcpPoolResult.Granted(previous);
                }
            }

            if (requested is not null && InSubnet(requested) && tried.Add(IPv4.ToUInt32(requested)))
            {
                var a = IPv4.ToUInt32(requested);
                if (IsFreeInHint(mac, a, now) && await IsAssignableAsync(mac, a, cancellationToken).ConfigureAwait(false)
                    && await TryHoldAsync(mac, a, now, cancellationToken).ConfigureAwait(false) is { } asked)
                {
                    return DhcpPoolResult.Granted(asked);
                }
            }

            return await OfferFreeAsync(mac, now, tried, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// DHCPREQUEST in any state (SELECTING, INIT-REBOOT, RENEWING, REBINDING):
    /// granted when the address is right for this client and the store lets
    /// this client claim it (free, or already this client's), which binds or
    /// extends the lease. A client the store has no record of (it was lost)
    /// gets its address when that address is free, rather than the silence
    /// RFC 2131 §4.3.2 allows: it keeps its address across a lost database.
    /// </summary>
    public async ValueTask<DhcpPoolResult> RequestAsync(MacAddress mac, IPAddress requested, string? hostName, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            if (!InSubnet(requested))
            {
                return DhcpPoolResult.Refused($"{requested} is not on this network");
            }

            var address = IPv4.ToUInt32(requested);
            var reserved = await _reservations.FindAddressAsync(mac, cancellationToken).ConfigureAwait(false);
            if (reserved is not null && !reserved.Equals(requested))
            {
                return DhcpPoolResult.Refused($"{mac} has the reserved address {reserved}");
            }

            if (reserved is null && !await IsAssignableAsync(mac, address, cancellationToken).ConfigureAwait(false))
            {
                return DhcpPoolResult.Refused($"{requested} is not available to {mac}");
            }

            var mine = await _store.FindByMacAsync(mac, cancellationToken).ConfigureAwait(false);
            var lease = new DhcpLease(requested, mac, DhcpLeaseState.Bound, now + _options.LeaseTime) { HostName = hostName };
            var claim = await _store.ClaimAsync(lease, now, cancellationToken).ConfigureAwait(false);
            Remember(address, claim.Current);
            if (!claim.Claimed)
            {
                LostClaim(mac, requested, claim.Current);
                return DhcpPoolResult.Refused($"{requested} is held by another client");
            }

            // One address per client: the ones it held or was offered elsewhere are free again.
            foreach (var old in mine)
            {
                if (!old.Address.Equals(requested) && old.IsActive(now) && old.State is DhcpLeaseState.Bound or DhcpLeaseState.Offered)
                {
                    var freed = old with { State = DhcpLeaseState.Released, Expires = now };
                    if (await _store.UpdateAsync(freed, [old.State], cancellationToken).ConfigureAwait(false))
                    {
                        Remember(IPv4.ToUInt32(old.Address), freed);
                    }
                }
            }

            return DhcpPoolResult.Granted(lease);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>DHCPRELEASE: the address is free at once; the record stays so the client gets it back next time.</summary>
    public async ValueTask<DhcpLease?> ReleaseAsync(MacAddress mac, IPAddress address, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var released = Known(mac, address) with { State = DhcpLeaseState.Released, Expires = _time.GetUtcNow() };
            if (!await _store.UpdateAsync(released, s_bound, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            Remember(IPv4.ToUInt32(address), released);
            return released;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>DHCPDECLINE: someone else answers ARP for the address; keep it out of the pool for a while (RFC 2131 §4.3.3).</summary>
    public async ValueTask<DhcpLease?> DeclineAsync(MacAddress mac, IPAddress address, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var declined = Known(mac, address) with { State = DhcpLeaseState.Declined, Expires = _time.GetUtcNow() + _options.DeclineQuarantine };
            if (!await _store.UpdateAsync(declined, s_held, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            Remember(IPv4.ToUInt32(address), declined);
            return declined;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// The client took another server's offer (RFC 2131 §4.3.2): the offers
    /// this server made it are free again, except <paramref name="chosen"/>,
    /// the address it asks the other server for (both may have offered it).
    /// </summary>
    public async ValueTask WithdrawOfferAsync(MacAddress mac, IPAddress? chosen, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            foreach (var (a, offer) in _hint.Where(p => p.Value.Mac == mac && p.Value.State == DhcpLeaseState.Offered && p.Value.IsActive(now)).ToList())
            {
                if (offer.Address.Equals(chosen))
                {
                    continue;
                }

                var withdrawn = offer with { Expires = now };
                Remember(a, await _store.UpdateAsync(withdrawn, s_offered, cancellationToken).ConfigureAwait(false) ? withdrawn : null);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>
    /// A never-used address, else the one free the longest, as the hint has
    /// them; each one claimed in the store until a claim holds. The first
    /// lost claim (the hint is stale: another server took the address) reloads
    /// the hint; so does finding nothing free, at most every few seconds.
    /// </summary>
    private async ValueTask<DhcpPoolResult> OfferFreeAsync(MacAddress mac, DateTimeOffset now, HashSet<uint> tried, CancellationToken cancellationToken)
    {
        var lost = 0;
        var reloaded = false;
        while (lost < MaxLostClaimsPerOffer)
        {
            var candidate = await NextFreeAsync(mac, now, tried, cancellationToken).ConfigureAwait(false);
            if (candidate is not { } a)
            {
                if (reloaded || now - _lastExhaustedReload < s_exhaustedReloadInterval)
                {
                    break;
                }

                _lastExhaustedReload = now;
                await ReloadHintAsync(cancellationToken).ConfigureAwait(false);
                reloaded = true;
                continue;
            }

            tried.Add(a);
            if (await TryHoldAsync(mac, a, now, cancellationToken).ConfigureAwait(false) is { } held)
            {
                return DhcpPoolResult.Granted(held);
            }

            lost++;
            if (!reloaded)
            {
                await ReloadHintAsync(cancellationToken).ConfigureAwait(false);
                reloaded = true;
            }
        }

        return DhcpPoolResult.Exhausted(lost == 0
            ? $"no free address in {_options.RangeStart}-{_options.RangeEnd}"
            : $"no free address in {_options.RangeStart}-{_options.RangeEnd} after {lost} addresses were taken by other servers first");
    }

    private async ValueTask<uint?> NextFreeAsync(MacAddress mac, DateTimeOffset now, HashSet<uint> tried, CancellationToken cancellationToken)
    {
        for (var a = _start; a <= _end && a >= _start; a++)
        {
            if (!_hint.ContainsKey(a) && !tried.Contains(a))
            {
                if (await IsAssignableAsync(mac, a, cancellationToken).ConfigureAwait(false))
                {
                    return a;
                }

                tried.Add(a);
            }
        }

        foreach (var (a, _) in _hint.Where(p => !p.Value.IsActive(now) && !tried.Contains(p.Key)).OrderBy(p => p.Value.Expires).ToList())
        {
            if (await IsAssignableAsync(mac, a, cancellationToken).ConfigureAwait(false))
            {
                return a;
            }

            tried.Add(a);
        }

        return null;
    }

    /// <summary>Claims the address for an offer; the held lease (the offer, or the client's own bound lease), or null when another client holds it.</summary>
    private async ValueTask<DhcpLease?> TryHoldAsync(MacAddress mac, uint address, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var offer = new DhcpLease(IPv4.FromUInt32(address), mac, DhcpLeaseState.Offered, now + _options.OfferHoldTime);
        var claim = await _store.ClaimAsync(offer, now, cancellationToken).ConfigureAwait(false);
        Remember(address, claim.Current);
        if (claim.Claimed)
        {
            return offer;
        }

        if (claim.Current is { State: DhcpLeaseState.Bound } current && current.Mac == mac && current.IsActive(now))
        {
            return current;
        }

        LostClaim(mac, offer.Address, claim.Current);
        return null;
    }

    private void LostClaim(MacAddress mac, IPAddress address, DhcpLease? holder)
    {
        _counters?.CountLostClaim();
        if (_lostClaimLog.TryAcquire(out var suppressed))
        {
            DhcpLog.ClaimLost(_logger, address, mac, holder?.Mac, holder?.State, holder?.Expires, suppressed);
        }
    }

    /// <summary>A pool address this client may be given: in the range, not excluded, reserved for nobody else.</summary>
    private async ValueTask<bool> IsAssignableAsync(MacAddress mac, uint address, CancellationToken cancellationToken)
    {
        if (address < _start || address > _end || _excluded.Contains(address))
        {
            return false;
        }

        var owner = await _reservations.FindOwnerAsync(IPv4.FromUInt32(address), cancellationToken).ConfigureAwait(false);
        return owner is null || owner == mac;
    }

    private bool IsFreeInHint(MacAddress mac, uint address, DateTimeOffset now) =>
        !_hint.TryGetValue(address, out var lease) || DhcpClaimRule.MayReplace(lease, new DhcpLease(lease.Address, mac, DhcpLeaseState.Bound, now), now);

    /// <summary>The hint's record of this client's address (keeping its host name), or a bare one.</summary>
    private DhcpLease Known(MacAddress mac, IPAddress address) =>
        _hint.TryGetValue(IPv4.ToUInt32(address), out var lease) && lease.Mac == mac
            ? lease
            : new DhcpLease(address, mac, DhcpLeaseState.Bound, DateTimeOffset.MinValue);

    private void Remember(uint address, DhcpLease? lease)
    {
        if (lease is null)
        {
            _hint.Remove(address);
        }
        else
        {
            _hint[address] = lease;
        }
    }

    private async ValueTask ReloadHintAsync(CancellationToken cancellationToken)
    {
        var stored = await _store.LoadAllAsync(cancellationToken).ConfigureAwait(false);
        _hint.Clear();
        foreach (var lease in stored)
        {
            if (InSubnet(lease.Address))
            {
                _hint[IPv4.ToUInt32(lease.Address)] = lease;
            }
        }
    }
}
