using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Protocols.Iscsi.Connections;
using Streamboot.Protocols.Iscsi.Sessions;
using Streamboot.Protocols.Iscsi.Targets;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Iscsi;

/// <summary>
/// An iSCSI target (RFC 7143) on a listening socket: accepts connections,
/// bounds them (in all, and logins in progress per address), keeps the
/// sessions table, and ends sessions. Each connection is an asynchronous
/// receive loop on the thread pool; none has a thread of its own. What a
/// target name means is the <see cref="IIscsiTargetProvider"/>'s business.
/// </summary>
public sealed class IscsiServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<IscsiConnection, Task> _connections = new();
    private readonly ConcurrentDictionary<IscsiConnection, IPAddress> _loggingIn = new();
    private readonly ConcurrentDictionary<IPAddress, int> _loginsPerAddress = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private long _nextId;
    private bool _acceptStopped;

    public IscsiServer(IIscsiTargetProvider provider, IscsiServerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        Provider = provider ?? throw new ArgumentNullException(nameof(provider));
        Options = options ?? new IscsiServerOptions();
        Options.Validate();
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Streamboot.Protocols.Iscsi");
    }

    /// <summary>Where <see cref="Start"/> listens (the real port when 0 was asked).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    public int ConnectionCount => _connections.Count;

    public int SessionCount => Sessions.Count;

    internal IIscsiTargetProvider Provider { get; }

    internal IscsiServerOptions Options { get; }

    internal ILogger Logger { get; }

    internal SessionTable Sessions { get; } = new();

    public void Start(IPEndPoint endPoint)
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("the server is already listening");
        }

        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR alone (a restart binds past TIME_WAIT): .NET's
            // ReuseAddress also sets SO_REUSEPORT on Linux, which would let a
            // second server listen on the same port beside this one.
            listener.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, [1, 0, 0, 0]);
            listener.Bind(endPoint);
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        IscsiLog.Listening(Logger, listener.LocalEndPoint);
        _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
    }

    /// <summary>
    /// Stops accepting, asks every logged-in initiator to log out (an
    /// asynchronous message) and gives them <paramref name="grace"/> to do
    /// so, then ends every connection and waits for them.
    /// </summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        Volatile.Write(ref _acceptStopped, true);
        _listener?.Dispose();
        var wait = grace ?? TimeSpan.FromSeconds(2);
        if (wait > TimeSpan.Zero && !_connections.IsEmpty)
        {
            foreach (var connection in _connections.Keys)
            {
                connection.RequestLogout((int)Math.Ceiling(wait.TotalSeconds));
            }

            await Task.WhenAny(Task.WhenAll(_connections.Values), Task.Delay(wait)).ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        IscsiLog.Stopped(Logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (!Volatile.Read(ref _acceptStopped) && e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.TooManyOpenSockets)
            {
                IscsiLog.AcceptFailed(Logger, e);
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            catch (SocketException e)
            {
                if (!cancellationToken.IsCancellationRequested && !Volatile.Read(ref _acceptStopped))
                {
                    IscsiLog.AcceptFailed(Logger, e);
                }

                return;
            }

            Run(socket, cancellationToken);
        }
    }

    private void Run(Socket socket, CancellationToken cancellationToken)
    {
        EndPoint? remote;
        try
        {
            remote = socket.RemoteEndPoint;
            if (_connections.Count >= Options.MaxConnections)
            {
                StreambootMetrics.Refused(StreambootMetrics.Iscsi, "too_many_connections");
                IscsiLog.TooManyConnections(Logger, remote, Options.MaxConnections);
                socket.Dispose();
                return;
            }

            var address = (remote as IPEndPoint)?.Address ?? IPAddress.None;
            if (_loginsPerAddress.AddOrUpdate(address, 1, (_, n) => n + 1) > Options.MaxLoginsPerAddress)
            {
                Decrement(address);
                StreambootMetrics.Refused(StreambootMetrics.Iscsi, "too_many_logins_per_address");
                IscsiLog.TooManyLogins(Logger, remote, Options.MaxLoginsPerAddress);
                socket.Dispose();
                return;
            }

            // Replies are whole PDUs written at once; Nagle would only hold back the last segment.
            socket.NoDelay = true;
            // A peer that vanished without a FIN is found by keepalive too, not only by NOP-In.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 10);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
            var info = new IscsiConnectionInfo(Interlocked.Increment(ref _nextId), remote, socket.LocalEndPoint);
            var connection = new IscsiConnection(this, socket, info);
            _loggingIn[connection] = address;
            IscsiLog.Accepted(Logger, info);
            var run = Task.Run(() => connection.RunAsync(cancellationToken), CancellationToken.None);
            _connections[connection] = run;
            _ = run.ContinueWith(_ => _connections.TryRemove(connection, out Task? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
        }
    }

    /// <summary>A connection finished its login (or ended in it): it no longer counts against its address's logins.</summary>
    internal void LoginFinished(IscsiConnection connection)
    {
        if (_loggingIn.TryRemove(connection, out var address))
        {
            Decrement(address);
        }
    }

    private void Decrement(IPAddress address)
    {
        while (_loginsPerAddress.TryGetValue(address, out var count))
        {
            if (count <= 1 ? _loginsPerAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, count)) : _loginsPerAddress.TryUpdate(address, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>Ends a session from outside (reinstated by a new login): its connections close, its device is let go.</summary>
    internal async Task CloseSessionAsync(IscsiSession session, string reason)
    {
        if (!session.End())
        {
            return;
        }

        _ = reason;
        foreach (var connection in session.Connections)
        {
            connection.Stop();
        }

        await EndSessionAsync(session).ConfigureAwait(false);
    }

    /// <summary>
    /// The end of a session (its last connection closed, or it was closed):
    /// its tasks are aborted and waited for, then its device is disposed,
    /// exactly once, and its share of the logical unit's state let go.
    /// </summary>
    internal async Task EndSessionAsync(IscsiSession session)
    {
        Sessions.Remove(session);
        var tasks = session.Tasks();
        foreach (var task in tasks)
        {
            task.Abort();
        }

        try
        {
            await Task.WhenAll(tasks.Where(t => t.Delivered).Select(t => t.WhenFinishedAsync())).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        if (session.Unit is { } unit)
        {
            unit.NexusLost(session.Nexus);
            try
            {
                await unit.Device.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                IscsiLog.SessionEndFailed(Logger, session.Tsih, e);
            }
        }

        if (session.UnitState is { } state)
        {
            Sessions.ReleaseUnit(state);
        }

        if (!session.Discovery)
        {
            IscsiLog.SessionEnded(Logger, session.Tsih, Login.TextParameters.Safe(session.InitiatorName), Login.TextParameters.Safe(session.TargetName));
        }
    }
}
