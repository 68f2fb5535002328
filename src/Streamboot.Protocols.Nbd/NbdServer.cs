using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Protocols.Nbd.Connections;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Protocols.Nbd.Limits;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Nbd;

/// <summary>
/// A fixed-newstyle NBD server. Either it listens itself (<see cref="Start"/>,
/// then <see cref="StopAsync"/>) or a host that already accepts connections
/// (Kestrel's ConnectionHandler: <c>connection.Transport.AsStream()</c>)
/// hands each one to <see cref="HandleConnectionAsync"/>. What an export name
/// means is the <see cref="INbdExportProvider"/>'s business.
/// </summary>
/// <remarks>
/// Connections are asynchronous on the thread pool: no thread waits for a
/// client but the one in epoll_wait (<see cref="NbdPoller"/>). What the server holds for its clients is bounded: connections
/// (in all and per client address), bytes in flight (per connection and in
/// all, <see cref="NbdServerOptions.MaxInFlightBytes"/>), time (the
/// handshake's, an idle connection's, a stalled one's).
/// </remarks>
public sealed class NbdServer : IAsyncDisposable
{
    private readonly INbdExportProvider _provider;
    private readonly NbdServerOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, (NbdConnection Connection, Task Run)> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly NbdInFlightBudget _budget;
    private readonly NbdAddressLimits _addresses;
    private readonly Timer? _sweep;
    private Socket? _listener;
    private NbdPoller? _poller;
    private Task? _acceptLoop;
    private long _nextId;
    private long _lastLimitLog;

    public NbdServer(INbdExportProvider provider, NbdServerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        _options = options ?? new NbdServerOptions();
        _options.Validate();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Streamboot.Protocols.Nbd");
        _budget = new NbdInFlightBudget(_options.MaxInFlightBytes);
        _addresses = new NbdAddressLimits(_options.MaxConnectionsPerAddress);
        var idle = NbdServerOptions.IsSet(_options.IdleTimeout) ? _options.IdleTimeout : (TimeSpan?)null;
        var stall = NbdServerOptions.IsSet(_options.StallTimeout) ? _options.StallTimeout : (TimeSpan?)null;
        if (idle is not null || stall is not null)
        {
            // A connection is closed between one and 1.125 times its limit after it went quiet.
            var shortest = TimeSpan.FromTicks(Math.Min((idle ?? TimeSpan.MaxValue).Ticks, (stall ?? TimeSpan.MaxValue).Ticks));
            var period = TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 8, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(30).Ticks));
            _sweep = new Timer(_ => Sweep(idle, stall), null, period, period);
        }
    }

    /// <summary>Where <see cref="Start"/> listens (the real port when 0 was asked).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    /// <summary>Connections running now.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Bytes all connections hold in flight now: replies not yet sent, payloads not yet written.</summary>
    public long InFlightBytes => _connections.Values.Sum(c => c.Connection.InFlightBytes);

    /// <summary>Listens on <paramref name="endPoint"/> (port 0 picks a free one) and accepts in the background.</summary>
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
            // ReuseAddress also sets SO_REUSEPORT on Linux, which let a second
            // server listen on the same port beside this one.
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
        _poller = NbdPoller.IsSupported ? new NbdPoller() : null;
        NbdLog.Listening(_logger, listener.LocalEndPoint);
        _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
    }

    /// <summary>
    /// Runs one connection, from the greeting to the close, on any duplex
    /// stream; returns when the connection is over. The stream is disposed.
    /// </summary>
    public Task HandleConnectionAsync(Stream transport, EndPoint? remoteEndPoint, EndPoint? localEndPoint, CancellationToken cancellationToken = default)
    {
        if (!TryAdmit(remoteEndPoint, out var address))
        {
            return transport.DisposeAsync().AsTask();
        }

        return RunAsync(new NbdTransport(transport), address, remoteEndPoint, localEndPoint, cancellationToken);
    }

    /// <summary>Stops accepting, ends every connection (their sessions end with ServerStopped) and waits for them.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        await Task.WhenAll(_connections.Values.Select(c => c.Run)).ConfigureAwait(false);
        NbdLog.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_sweep is not null)
        {
            await _sweep.DisposeAsync().ConfigureAwait(false);
        }

        _poller?.Dispose();

        _stopping.Dispose();
    }

    private async Task RunAsync(NbdTransport transport, IPAddress? address, EndPoint? remote, EndPoint? local, CancellationToken cancellationToken)
    {
        var info = new NbdConnectionInfo(Interlocked.Increment(ref _nextId), remote, local);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        NbdLog.Accepted(_logger, info);
        var connection = new NbdConnection(transport, info, _provider, _options, _budget, _logger, stopping.Token);
        var run = connection.RunAsync();
        _connections[info.Id] = (connection, run);
        try
        {
            await run.ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(info.Id, out _);
            _addresses.Exit(address);
        }
    }

    /// <summary>The server-wide and per-address connection limits; a refusal is logged (at most every few seconds).</summary>
    private bool TryAdmit(EndPoint? remote, out IPAddress? address)
    {
        address = null;
        if (_connections.Count >= _options.MaxConnections)
        {
            StreambootMetrics.Refused(StreambootMetrics.Nbd, "too_many_connections");
            var last = Interlocked.Read(ref _lastLimitLog);
            if ((last == 0 || Stopwatch.GetElapsedTime(last) >= NbdAddressLimits.LogInterval)
                && Interlocked.CompareExchange(ref _lastLimitLog, Stopwatch.GetTimestamp(), last) == last)
            {
                NbdLog.TooManyConnections(_logger, remote, _options.MaxConnections);
            }

            return false;
        }

        if (!_addresses.TryEnter(remote, out address, out var refusedToLog))
        {
            StreambootMetrics.Refused(StreambootMetrics.Nbd, "too_many_connections_per_address");
            if (refusedToLog > 0)
            {
                NbdLog.TooManyConnectionsFromAddress(_logger, address, _options.MaxConnectionsPerAddress, refusedToLog);
            }

            return false;
        }

        return true;
    }

    private void Sweep(TimeSpan? idle, TimeSpan? stall)
    {
        foreach (var (connection, _) in _connections.Values)
        {
            connection.CheckIdle(idle, stall);
        }
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
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.TooManyOpenSockets)
            {
                // A client gave up before accept, or the process is out of descriptors: keep going.
                NbdLog.AcceptFailed(_logger, e);
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            catch (SocketException e) when (cancellationToken.IsCancellationRequested)
            {
                NbdLog.AcceptFailed(_logger, e);
                return;
            }

            EndPoint? remote;
            try
            {
                remote = socket.RemoteEndPoint;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                socket.Dispose(); // the client left between accept and here
                continue;
            }

            if (!TryAdmit(remote, out var address))
            {
                socket.Dispose();
                continue;
            }

            if (!TryPrepare(socket, out var local))
            {
                _addresses.Exit(address);
                socket.Dispose();
                continue;
            }

            Stream stream;
            try
            {
                stream = _poller is not null ? new NbdSocketStream(_poller, socket) : new NetworkStream(socket, ownsSocket: true);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                _addresses.Exit(address);
                socket.Dispose();
                continue;
            }

            _ = RunAsync(new NbdTransport(stream), address, remote, local, cancellationToken);
        }
    }

    private bool TryPrepare(Socket socket, out EndPoint? local)
    {
        local = null;
        try
        {
            // Replies are whole messages written once; Nagle would only delay the last segment.
            socket.NoDelay = true;
            // A client that lost power or its network sends nothing more: its
            // session (and its device's identity) would stay live for ever.
            // Keepalive probes end the connection about a minute after the
            // peer is gone; a live kernel answers them even when idle.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 10);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
            if (_options.SocketBufferSize is { } size)
            {
                socket.SendBufferSize = size;
                socket.ReceiveBufferSize = size;
            }

            local = socket.LocalEndPoint;
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false; // the client left between accept and start
        }
    }
}
