using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Protocols.Nbd.Connections;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Protocols.Nbd.Native;

namespace Streamboot.Protocols.Nbd;

/// <summary>
/// A fixed-newstyle NBD server. Either it listens itself (<see cref="Start"/>,
/// then <see cref="StopAsync"/>) or a host that already accepts connections
/// (Kestrel's ConnectionHandler: <c>connection.Transport.AsStream()</c>)
/// hands each one to <see cref="HandleConnectionAsync"/>. What an export name
/// means is the <see cref="INbdExportProvider"/>'s business.
/// </summary>
public sealed class NbdServer : IAsyncDisposable
{
    private readonly INbdExportProvider _provider;
    private readonly NbdServerOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly ConcurrentDictionary<long, Task> _threads = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lazy<NbdWorkers> _workers;
    private Socket? _listener;
    private Task? _acceptLoop;
    private long _nextId;
    private long _nextThreadId;

    public NbdServer(INbdExportProvider provider, NbdServerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        _options = options ?? new NbdServerOptions();
        _options.Validate();
        var workers = _options.WorkerThreads > 0 ? _options.WorkerThreads : Math.Max(16, 4 * Environment.ProcessorCount);
        _workers = new Lazy<NbdWorkers>(() => new NbdWorkers(workers));
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Streamboot.Protocols.Nbd");
    }

    /// <summary>Where <see cref="Start"/> listens (the real port when 0 was asked).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    /// <summary>Connections running now.</summary>
    public int ConnectionCount => _connections.Count;

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
        NbdLog.Listening(_logger, listener.LocalEndPoint);
        _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
    }

    /// <summary>
    /// Runs one connection, from the greeting to the close, on any duplex
    /// stream; returns when the connection is over. The stream is disposed.
    /// </summary>
    public Task HandleConnectionAsync(Stream transport, EndPoint? remoteEndPoint, EndPoint? localEndPoint, CancellationToken cancellationToken = default) =>
        RunConnectionAsync(transport, remoteEndPoint, localEndPoint, blocking: false, null, cancellationToken);

    // socket: set for a connection with its own thread whose big reads may go out
    // with sendfile(2) (NbdServerOptions.ZeroCopyReads).
    private async Task RunConnectionAsync(Stream transport, EndPoint? remoteEndPoint, EndPoint? localEndPoint, bool blocking, SafeSocketHandle? socket, CancellationToken cancellationToken)
    {
        var info = new NbdConnectionInfo(Interlocked.Increment(ref _nextId), remoteEndPoint, localEndPoint);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        NbdLog.Accepted(_logger, info);
        var connection = new NbdConnection(transport, info, _provider, _options, _logger, blocking ? _workers.Value : null, socket);
        var run = connection.RunAsync(linked.Token);
        _connections[info.Id] = run;
        try
        {
            await run.ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(info.Id, out _);
        }
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

        await Task.WhenAll(_threads.Values).ConfigureAwait(false);
        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        NbdLog.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
        if (_workers.IsValueCreated)
        {
            _workers.Value.Dispose();
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

            if (Math.Max(_connections.Count, _threads.Count) >= _options.MaxConnections)
            {
                NbdLog.TooManyConnections(_logger, socket.RemoteEndPoint, _options.MaxConnections);
                socket.Dispose();
                continue;
            }

            RunSocket(socket, cancellationToken);
        }
    }

    private void RunSocket(Socket socket, CancellationToken cancellationToken)
    {
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

            var remote = socket.RemoteEndPoint;
            var local = socket.LocalEndPoint;
            var stream = new NetworkStream(socket, ownsSocket: true);
            if (!_options.ThreadPerConnection)
            {
                _ = RunConnectionAsync(stream, remote, local, blocking: false, null, cancellationToken);
                return;
            }

            // nbdkit's model: a thread per connection reading with blocking calls,
            // so a request served from the page cache runs start to reply on the
            // thread the kernel woke. Anything that really waits (a device going
            // asynchronous) continues on the thread pool meanwhile.
            var zeroCopy = _options.ZeroCopyReads && LinuxSocket.IsSupported ? socket.SafeHandle : null;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var key = Interlocked.Increment(ref _nextThreadId);
            _threads[key] = done.Task;
            var thread = new Thread(() =>
            {
                try
                {
                    RunConnectionAsync(stream, remote, local, blocking: true, zeroCopy, cancellationToken).GetAwaiter().GetResult();
                }
                finally
                {
                    _threads.TryRemove(key, out _);
                    done.TrySetResult();
                }
            })
            {
                IsBackground = true,
                Name = $"nbd {remote}",
            };
            thread.UnsafeStart();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client left between accept and start.
            socket.Dispose();
        }
    }
}
