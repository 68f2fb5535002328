using System.Net;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>
/// What the pool knows about one address. An address is free when its lease
/// has expired; the record stays so the same client gets the same address
/// back (RFC 2131 §4.3.1).
/// </summary>
public sealed record DhcpLease(IPAddress Address, MacAddress Mac, DhcpLeaseState State, DateTimeOffset Expires)
{
    /// <summary>Option 12 of the client's last request, for people reading the lease list.</summary>
    public string? HostName { get; init; }

    public bool IsActive(DateTimeOffset now) => Expires > now;
}
