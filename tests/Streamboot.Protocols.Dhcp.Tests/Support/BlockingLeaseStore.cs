using Streamboot.Protocols.Dhcp.Leases;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>
/// A lease store whose writes of bound leases block their thread while it is
/// held, the way SQLite's "async" calls run synchronously: what a slow
/// database does to the thread that calls it.
/// </summary>
public sealed class BlockingLeaseStore(IDhcpLeaseStore inner) : IDhcpLeaseStore, IDisposable
{
    private readonly ManualResetEventSlim _open = new(initialState: true);
    private int _waiting;

    /// <summary>Writes blocked right now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public void Hold() => _open.Reset();

    public void Release() => _open.Set();

    public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken) => inner.LoadAllAsync(cancellationToken);

    public ValueTask<IReadOnlyList<DhcpLease>> FindByMacAsync(MacAddress mac, CancellationToken cancellationToken) => inner.FindByMacAsync(mac, cancellationToken);

    public ValueTask<DhcpClaim> ClaimAsync(DhcpLease lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (lease.State == DhcpLeaseState.Bound)
        {
            Block();
        }

        return inner.ClaimAsync(lease, now, cancellationToken);
    }

    public ValueTask<bool> UpdateAsync(DhcpLease lease, IReadOnlyCollection<DhcpLeaseState> from, CancellationToken cancellationToken)
    {
        Block();
        return inner.UpdateAsync(lease, from, cancellationToken);
    }

    public void Dispose() => _open.Dispose();

    private void Block()
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            _open.Wait(TimeSpan.FromSeconds(30), CancellationToken.None);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }
}
