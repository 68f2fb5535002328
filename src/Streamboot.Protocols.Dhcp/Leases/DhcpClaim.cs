namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>What <see cref="IDhcpLeaseStore.ClaimAsync"/> did: whether the lease was written, and the address's record as it stands after (null: none).</summary>
public readonly record struct DhcpClaim(bool Claimed, DhcpLease? Current);
