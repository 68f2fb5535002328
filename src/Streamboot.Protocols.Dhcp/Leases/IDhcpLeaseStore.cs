namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>
/// Where leases live beyond the process, and the one place that decides who
/// holds an address: the host's database, which several servers of one
/// network may share. The pool keeps a copy in memory only as a hint of
/// which addresses are taken; every change goes through a conditional write
/// here (<see cref="ClaimAsync"/>, <see cref="UpdateAsync"/>), so two servers
/// never hand one address to two clients. Offers are stored too: an offer is
/// a short claim (<see cref="DhcpPoolOptions.OfferHoldTime"/>).
/// </summary>
public interface IDhcpLeaseStore
{
    /// <summary>Every record (the pool's hint at start, and again after a claim lost to another server).</summary>
    ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The records of one client, from whichever server wrote them, newest
    /// expiry first (a handful: one per address it held): a client gets its
    /// current or previous address back from every server (RFC 2131 §4.3.1).
    /// </summary>
    ValueTask<IReadOnlyList<DhcpLease>> FindByMacAsync(MacAddress mac, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="lease"/> as the record of its address if and
    /// only if <see cref="DhcpClaimRule.MayReplace"/> allows it against the
    /// record there at that moment, atomically: of two claims for one address
    /// by two clients, at most one succeeds while the address is held.
    /// Returns whether it was written and the record as it now stands.
    /// </summary>
    ValueTask<DhcpClaim> ClaimAsync(DhcpLease lease, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="lease"/> only over a record of the same address
    /// and MAC whose state is one of <paramref name="from"/> (RELEASE, DECLINE,
    /// freeing the address a client moved from, withdrawing an offer).
    /// False when there is no such record.
    /// </summary>
    ValueTask<bool> UpdateAsync(DhcpLease lease, IReadOnlyCollection<DhcpLeaseState> from, CancellationToken cancellationToken);
}
