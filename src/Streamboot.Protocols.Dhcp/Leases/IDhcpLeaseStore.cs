using System.Net;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>
/// Where leases outlive the process (the host's database). The pool keeps
/// its own copy in memory: it loads everything once at start and then writes
/// through, one lease at a time, keyed by address. Offers are never stored.
/// Calls come one at a time (the pool holds its lock across them).
/// </summary>
public interface IDhcpLeaseStore
{
    ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the lease of <see cref="DhcpLease.Address"/>.</summary>
    ValueTask SaveAsync(DhcpLease lease, CancellationToken cancellationToken);

    ValueTask DeleteAsync(IPAddress address, CancellationToken cancellationToken);
}
