using Streamboot.Sessions;
using Streamboot.Sessions.Views;

namespace Streamboot.Server.Http;

/// <summary>
/// HTTP requests are not a session: iPXE's SAN boot sends a HEAD and then
/// hundreds of ranged GETs, over one or several connections. Each
/// connection's view of a name is held here while it keeps asking and let
/// go once it has been idle for <see cref="IdleTimeout"/> (the client has
/// usually gone on to NBD by then, which joins the same device session
/// while both are open). A new connection always resolves the name anew,
/// so it never reads a vDisk deleted and imported again under that name
/// from the old one's view; a held view that was ended under its
/// connection (its version deleted, a newer boot of its device) is let go,
/// and the connection's next request resolves the name again.
/// </summary>
public sealed class HttpSessions : IAsyncDisposable
{
    private readonly IBootSessions _sessions;
    private readonly TimeProvider _clock;
    private readonly Dictionary<(string Name, string? Remote, string Connection), Held> _held = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ITimer _sweeper;

    public HttpSessions(IBootSessions sessions, TimeProvider clock)
    {
        _sessions = sessions;
        _clock = clock;
        _sweeper = clock.CreateTimer(_ => _ = SweepAsync(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
    }

    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The view of this name for this client's connection, opened on first
    /// use. It stays open at least until the returned use is disposed.
    /// </summary>
    public async Task<SessionResult<Use>> UseAsync(string name, string? remote, string connection, CancellationToken cancellationToken)
    {
        var key = (name.ToLowerInvariant(), remote, connection);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_held.TryGetValue(key, out var stale) && stale.View.Ended)
            {
                _held.Remove(key);
                await stale.View.DisposeAsync();
            }

            if (!_held.TryGetValue(key, out var held))
            {
                var view = await _sessions.OpenAsync(new ViewRequest(name, "http", remote), cancellationToken);
                if (!view.Ok)
                {
                    return view.Error;
                }

                held = new Held(view.Value);
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
                await held.View.DisposeAsync();
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
                await held.View.DisposeAsync();
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

        public SessionView View => _held.View;

        public void Dispose() => Interlocked.Decrement(ref _held.Users);
    }

    internal sealed class Held(SessionView view)
    {
#pragma warning disable SA1401 // updated with Interlocked
        public int Users;
#pragma warning restore SA1401

        public SessionView View { get; } = view;

        public DateTimeOffset LastUsed { get; set; }
    }
}
