using System.Net;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>
/// Fixed addresses by MAC, supplied by the host (full mode). A reserved
/// address may lie outside the pool's range but must be in its subnet; the
/// pool never gives it to another client.
/// </summary>
public interface IDhcpReservations
{
    ValueTask<IPAddress?> FindAddressAsync(MacAddress mac, CancellationToken cancellationToken);

    /// <summary>Who the address is reserved for, or null.</summary>
    ValueTask<MacAddress?> FindOwnerAsync(IPAddress address, CancellationToken cancellationToken);
}
