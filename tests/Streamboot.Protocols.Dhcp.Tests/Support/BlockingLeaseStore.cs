using System.Net;
using Streamboot.Protocols.Dhcp.Leases;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>
/// A lease store whose saves block their thread while it is held, the way
/// SQLite's "async" calls run synchronously: what a slow database does to the
/// thread that calls it.
/// </summary>
public sealed class BlockingLeaseStore(IDhcpLeaseStore inner) : IDhcpLeaseStore, IDisposable
{
    private readonly ManualResetEventSlim _open = new(initialState: true);
    private int _waiting;

    /// <summary>Saves blocked right now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public void Hold() => _open.Reset();

    public void Release() => _open.Set();

    public ValueTask<IReadOnlyList<DhcpLease>> LoadAllAsync(CancellationToken cancellationToken) => inner.LoadAllAsync(cancellationToken);

    public ValueTask SaveAsync(DhcpLease lease, CancellationToken cancellationToken)
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

        return inner.SaveAsync(lease, cancellationToken);
    }

    public ValueTask DeleteAsync(IPAddress address, CancellationToken cancellationToken) => inner.DeleteAsync(address, cancellationToken);

    public void Dispose() => _open.Dispose();
}
