using System.Collections.Concurrent;
using System.Net;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>Reservations held in memory; the host may fill it from its database or write its own <see cref="IDhcpReservations"/>.</summary>
public sealed class DhcpReservations : IDhcpReservations
{
    private readonly ConcurrentDictionary<MacAddress, IPAddress> _byMac = new();
    private readonly ConcurrentDictionary<IPAddress, MacAddress> _byAddress = new();
    private readonly Lock _lock = new();

    public void Add(MacAddress mac, IPAddress address)
    {
        lock (_lock)
        {
            if (_byAddress.TryGetValue(address, out var owner) && owner != mac)
            {
                throw new InvalidOperationException($"{address} is already reserved for {owner}");
            }

            Remove(mac);
            _byMac[mac] = address;
            _byAddress[address] = mac;
        }
    }

    public bool Remove(MacAddress mac)
    {
        lock (_lock)
        {
            if (!_byMac.TryRemove(mac, out var address))
            {
                return false;
            }

            _byAddress.TryRemove(address, out _);
            return true;
        }
    }

    public ValueTask<IPAddress?> FindAddressAsync(MacAddress mac, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_byMac.TryGetValue(mac, out var address) ? address : null);

    public ValueTask<MacAddress?> FindOwnerAsync(IPAddress address, CancellationToken cancellationToken) =>
        ValueTask.FromResult<MacAddress?>(_byAddress.TryGetValue(address, out var mac) ? mac : null);
}
