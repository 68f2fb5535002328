using System.Net;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>
/// The address pool of full mode (RFC 2131 §4.3): which address a client is
/// offered, whether its REQUEST is granted, RELEASE and DECLINE. One client
/// (one MAC: option 61 is not used, because the PXE ROM, iPXE and the booted
/// OS send different client identifiers for the same machine and it should
/// keep one address through the chain) has at most one address. All state is
/// in memory behind one async lock; every change that must survive a restart
/// is written through to the <see cref="IDhcpLeaseStore"/> before the answer
/// goes out. Offers are held only in memory.
/// </summary>
public sealed class DhcpLeasePool : IDisposable
{
    private readonly DhcpPoolOptions _options;
    private readonly IDhcpLeaseStore _store;
    private readonly IDhcpReservations _reservations;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<uint, DhcpLease> _leases = [];
    private readonly Dictionary<MacAddress, uint> _lastAddress = [];
    private readonly HashSet<uint> _excluded;
    private readonly uint _mask;
    private readonly uint _start;
    private readonly uint _end;

    public DhcpLeasePool(DhcpPoolOptions options, IDhcpLeaseStore store, IDhcpReservations reservations, TimeProvider? timeProvider = null, IEnumerable<IPAddress>? excluded = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _reservations = reservations ?? throw new ArgumentNullException(nameof(reservations));
        _time = timeProvider ?? TimeProvider.System;
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

    /// <summary>Reads the store; leases outside the subnet (the configuration changed) are deleted from it.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var stored = await _store.LoadAllAsync(cancellationToken).ConfigureAwait(false);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var lease in stored)
            {
                if (lease.State == DhcpLeaseState.Offered)
                {
                    continue;
                }

                if (!InSubnet(lease.Address))
                {
                    await _store.DeleteAsync(lease.Address, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var address = IPv4.ToUInt32(lease.Address);
                _leases[address] = lease;
                if (lease.State != DhcpLeaseState.Declined && (!_lastAddress.TryGetValue(lease.Mac, out var last) || _leases[last].Expires < lease.Expires))
                {
                    _lastAddress[lease.Mac] = address;
                }
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public bool InSubnet(IPAddress address) => (IPv4.ToUInt32(address) & _mask) == (_start & _mask);

    /// <summary>Every lease the pool holds, offers included.</summary>
    public IReadOnlyList<DhcpLease> Snapshot()
    {
        _lock.Wait();
        try
        {
            return [.. _leases.OrderBy(p => p.Key).Select(p => p.Value)];
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// DHCPDISCOVER: the client's reservation, else its current or previous
    /// address, else the address it asks for (option 50), else a never-used
    /// address, else the one free the longest (RFC 2131 §4.3.1). The address
    /// is held for <see cref="DhcpPoolOptions.OfferHoldTime"/>.
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
                var address = IPv4.ToUInt32(reserved);
                return InSubnet(reserved) && IsFreeFor(mac, address, now)
                    ? Hold(mac, address, now)
                    : DhcpPoolResult.Exhausted($"the reserved address {reserved} is in use or outside the subnet");
            }

            if (_lastAddress.TryGetValue(mac, out var last) && await IsAvailableAsync(mac, last, now, cancellationToken).ConfigureAwait(false))
            {
                return Hold(mac, last, now);
            }

            if (requested is not null && InSubnet(requested) && await IsAvailableAsync(mac, IPv4.ToUInt32(requested), now, cancellationToken).ConfigureAwait(false))
            {
                return Hold(mac, IPv4.ToUInt32(requested), now);
            }

            for (var a = _start; a <= _end && a >= _start; a++)
            {
                if (!_leases.ContainsKey(a) && await IsAvailableAsync(mac, a, now, cancellationToken).ConfigureAwait(false))
                {
                    return Hold(mac, a, now);
                }
            }

            foreach (var (a, _) in _leases.Where(p => !p.Value.IsActive(now)).OrderBy(p => p.Value.Expires))
            {
                if (await IsAvailableAsync(mac, a, now, cancellationToken).ConfigureAwait(false))
                {
                    return Hold(mac, a, now);
                }
            }

            return DhcpPoolResult.Exhausted($"no free address in {_options.RangeStart}-{_options.RangeEnd}");
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// DHCPREQUEST in any state (SELECTING, INIT-REBOOT, RENEWING, REBINDING):
    /// granted when the address is right for this client, which binds or
    /// extends the lease. A client the pool has no record of (the store was
    /// lost, or it comes from another network's server) gets its address when
    /// that address is free, rather than the silence RFC 2131 §4.3.2 allows:
    /// it keeps its address across a restart of this server.
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
            if (reserved is not null)
            {
                if (!reserved.Equals(requested))
                {
                    return DhcpPoolResult.Refused($"{mac} has the reserved address {reserved}");
                }

                if (!IsFreeFor(mac, address, now))
                {
                    return DhcpPoolResult.Refused($"the reserved address {reserved} is in use");
                }
            }
            else if (!await IsAvailableAsync(mac, address, now, cancellationToken).ConfigureAwait(false))
            {
                return DhcpPoolResult.Refused($"{requested} is not available to {mac}");
            }

            var lease = new DhcpLease(requested, mac, DhcpLeaseState.Bound, now + _options.LeaseTime) { HostName = hostName };
            if (_lastAddress.TryGetValue(mac, out var previous) && previous != address && _leases.TryGetValue(previous, out var old) && old.Mac == mac && old.IsActive(now))
            {
                // One address per client: the one it moved from is free again.
                var freed = old with { State = DhcpLeaseState.Released, Expires = now };
                _leases[previous] = freed;
                if (old.State != DhcpLeaseState.Offered)
                {
                    await _store.SaveAsync(freed, cancellationToken).ConfigureAwait(false);
                }
            }

            await _store.SaveAsync(lease, cancellationToken).ConfigureAwait(false);
            _leases[address] = lease;
            _lastAddress[mac] = address;
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
            var a = IPv4.ToUInt32(address);
            if (!_leases.TryGetValue(a, out var lease) || lease.Mac != mac || lease.State != DhcpLeaseState.Bound)
            {
                return null;
            }

            var released = lease with { State = DhcpLeaseState.Released, Expires = _time.GetUtcNow() };
            await _store.SaveAsync(released, cancellationToken).ConfigureAwait(false);
            _leases[a] = released;
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
            var a = IPv4.ToUInt32(address);
            if (!_leases.TryGetValue(a, out var lease) || lease.Mac != mac || lease.State is DhcpLeaseState.Declined or DhcpLeaseState.Released)
            {
                return null;
            }

            var declined = lease with { State = DhcpLeaseState.Declined, Expires = _time.GetUtcNow() + _options.DeclineQuarantine };
            await _store.SaveAsync(declined, cancellationToken).ConfigureAwait(false);
            _leases[a] = declined;
            if (_lastAddress.TryGetValue(mac, out var last) && last == a)
            {
                _lastAddress.Remove(mac);
            }

            return declined;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The client took another server's offer (RFC 2131 §4.3.2): our offer is free again.</summary>
    public async ValueTask WithdrawOfferAsync(MacAddress mac, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var (a, lease) in _leases.Where(p => p.Value.Mac == mac && p.Value.State == DhcpLeaseState.Offered).ToList())
            {
                _leases.Remove(a);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();

    private DhcpPoolResult Hold(MacAddress mac, uint address, DateTimeOffset now)
    {
        if (_leases.TryGetValue(address, out var current) && current.Mac == mac && current.State == DhcpLeaseState.Bound && current.IsActive(now))
        {
            // A bound client that starts over (a reboot) keeps its lease as it is.
            return DhcpPoolResult.Granted(current);
        }

        var offer = new DhcpLease(IPv4.FromUInt32(address), mac, DhcpLeaseState.Offered, now + _options.OfferHoldTime);
        _leases[address] = offer;
        return DhcpPoolResult.Granted(offer);
    }

    /// <summary>A pool address this client may have: in the range, not excluded, reserved for nobody else, and free for it.</summary>
    private async ValueTask<bool> IsAvailableAsync(MacAddress mac, uint address, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (address < _start || address > _end || _excluded.Contains(address) || !IsFreeFor(mac, address, now))
        {
            return false;
        }

        var owner = await _reservations.FindOwnerAsync(IPv4.FromUInt32(address), cancellationToken).ConfigureAwait(false);
        return owner is null || owner == mac;
    }

    private bool IsFreeFor(MacAddress mac, uint address, DateTimeOffset now) =>
        !_leases.TryGetValue(address, out var lease)
        || !lease.IsActive(now)
        || (lease.Mac == mac && lease.State != DhcpLeaseState.Declined);
}
