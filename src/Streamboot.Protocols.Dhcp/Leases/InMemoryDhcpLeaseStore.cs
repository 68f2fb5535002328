using System.Net;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>Leases that live as long as the process: the default, and what tests inspect. One lock makes each call atomic.</summary>
public sealed class InMemoryDhcpLeaseStore : IDhcpLeaseStore
{
    private readonly Dictionary<IPAddress, DhcpLease> _leases = [];
    private readonly Lock _lock = new();

    public IReadOnlyList<DhcpLease> Leases
    {
        get
        {
            lock (_lock)
            {
                return [.. _leases.Values.OrderBy(l => l.Address.GetAddressBytes(), AddressOrder.Instance)];
            }
        }
    }

    public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Leases);

    public ValueTask<IReadOnlyList<DhcpLease>> FindByMacAsync(MacAddress mac, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<DhcpLease> found = [.. _leases.Values.Where(l => l.Mac == mac).OrderByDescending(l => l.Expires)];
            return ValueTask.FromResult(found);
        }
    }

    public ValueTask<DhcpClaim> ClaimAsync(DhcpLease lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_lock)
        {
            var current = _leases.GetValueOrDefault(lease.Address);
            if (!DhcpClaimRule.MayReplace(current, lease, now))
            {
                return ValueTask.FromResult(new DhcpClaim(false, current));
            }

            _leases[lease.Address] = lease;
            return ValueTask.FromResult(new DhcpClaim(true, lease));
        }
    }

    public ValueTask<bool> UpdateAsync(DhcpLease lease, IReadOnlyCollection<DhcpLeaseState> from, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_lock)
        {
            if (!_leases.TryGetValue(lease.Address, out var current) || current.Mac != lease.Mac || !from.Contains(current.State))
            {
                return ValueTask.FromResult(false);
            }

            _leases[lease.Address] = lease;
            return ValueTask.FromResult(true);
        }
    }

    private sealed class AddressOrder : IComparer<byte[]>
    {
        public static AddressOrder Instance { get; } = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
