namespace Streamboot.Protocols.Dhcp.Leases;

public enum DhcpLeaseState
{
    /// <summary>Offered in answer to a DISCOVER: a short claim in the store (<see cref="DhcpPoolOptions.OfferHoldTime"/>) that keeps other servers from giving the address away meanwhile.</summary>
    Offered,

    /// <summary>Acknowledged: the client uses the address until <see cref="DhcpLease.Expires"/>.</summary>
    Bound,

    /// <summary>Given back by a RELEASE; free, but kept so the client gets the same address next time.</summary>
    Released,

    /// <summary>A client found the address in use (DECLINE); nobody gets it until <see cref="DhcpLease.Expires"/>.</summary>
    Declined,
}
