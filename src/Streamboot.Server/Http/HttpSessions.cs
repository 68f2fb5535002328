using Streamboot.Admin;
using Streamboot.Server.Streaming;

namespace Streamboot.Server.Http;

/// <summary>
/// HTTP has no connection to hang a session on: iPXE's SAN boot sends a
/// HEAD and then hundreds of ranged GETs, over one or several connections.
/// A client's session is held here while it keeps asking and released once
/// it has been idle for <see cref="IdleTimeout"/> (it has usually gone on
/// to NBD by then, which joins the same session while both are open).
/// </summary>
public sealed class HttpSessions : IAsyncDisposable
{
    private readonly SessionRegistry _registry;
    private readonly TimeProvider _clock;
    private readonly Dictionary<(string Export, string? Remote), Held> _held = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ITimer _sweeper;

    public HttpSessions(SessionRegistry registry, TimeProvider clock)
    {
        _registry = registry;
        _clock = clock;
        _sweeper = clock.CreateTimer(_ => _ = SweepAsync(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
    }

    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The session of an export for this client, opened on first use. The
    /// session stays open at least until the returned use is disposed.
    /// </summary>
    public async Task<AdminResult<Use>> UseAsync(string export, string? remote, CancellationToken cancellationToken)
    {
        var key = (export.ToLowerInvariant(), remote);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_held.TryGetValue(key, out var held))
            {
                var lease = await _registry.AcquireAsync(export, "http", remote, cancellationToken);
                if (!lease.Ok)
                {
                    return lease.Error;
                }

                held = new Held(lease.Value);
                _held[key] = held;
            }

            held.LastUsed = _clock.GetUtcNow();
            Interlocked.Increment(ref held.Users);
            return new Use(held);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync();
        await _gate.WaitAsync();
        try
        {
            foreach (var held in _held.Values)
            {
                await held.Lease.DisposeAsync();
            }

            _held.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task SweepAsync()
    {
        await _gate.WaitAsync();
        try
        {
            var now = _clock.GetUtcNow();
            foreach (var (key, held) in _held.Where(h => Volatile.Read(ref h.Value.Users) == 0 && now - h.Value.LastUsed > IdleTimeout).ToList())
            {
                _held.Remove(key);
                await held.Lease.DisposeAsync();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One request's hold on a held session.</summary>
    public readonly struct Use : IDisposable
    {
        private readonly Held _held;

        internal Use(Held held) => _held = held;

        public SessionLease Lease => _held.Lease;

        public void Dispose() => Interlocked.Decrement(ref _held.Users);
    }

    internal sealed class Held(SessionLease lease)
    {
#pragma warning disable SA1401 // updated with Interlocked
        public int Users;
#pragma warning restore SA1401

        public SessionLease Lease { get; } = lease;

        public DateTimeOffset LastUsed { get; set; }
    }
}
