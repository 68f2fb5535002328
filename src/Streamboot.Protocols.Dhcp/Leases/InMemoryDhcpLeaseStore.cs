using System.Collections.Concurrent;
using System.Net;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>Leases that live as long as the process: the default, and what tests inspect.</summary>
public sealed class InMemoryDhcpLeaseStore : IDhcpLeaseStore
{
    private readonly ConcurrentDictionary<IPAddress, DhcpLease> _leases = new();

    public IReadOnlyList<DhcpLease> Leases => [.. _leases.Values.OrderBy(l => l.Address.GetAddressBytes(), AddressOrder.Instance)];

    public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Leases);

    public ValueTask SaveAsync(DhcpLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        _leases[lease.Address] = lease;
        return ValueTask.CompletedTask;
    }

    public ValueTask DeleteAsync(IPAddress address, CancellationToken cancellationToken)
    {
        _leases.TryRemove(address, out _);
        return ValueTask.CompletedTask;
    }

    private sealed class AddressOrder : IComparer<byte[]>
    {
        public static AddressOrder Instance { get; } = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
