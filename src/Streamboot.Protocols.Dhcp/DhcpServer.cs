using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Protocols.Dhcp.Answers;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Protocols.Dhcp.RouterAdvertisements;
using Streamboot.Protocols.Dhcp.Transport;

namespace Streamboot.Protocols.Dhcp;

/// <summary>
/// A DHCP or proxyDHCP server for PXE on one interface: UDP 67 (and 4011 for
/// PXE boot server requests), each datagram parsed, filtered, interpreted and
/// answered by the <see cref="DhcpResponder"/>. A bad datagram is logged,
/// counted and skipped; nothing a client sends stops the loop. The receive
/// loops only read, drop what is too large and hand the rest to the thread
/// pool: the host's store and policy may block (SQLite's async calls run
/// synchronously), and the loops must go on reading meanwhile.
/// </summary>
public sealed class DhcpServer : IAsyncDisposable
{
    private readonly DhcpServerOptions _options;
    private readonly IDhcpBootPolicy _bootPolicy;
    private readonly IDhcpLeaseStore _leaseStore;
    private readonly IDhcpReservations _reservations;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _slots;
    private readonly DhcpLogThrottles _throttles;
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _loops = [];
    private DhcpResponder? _responder;
    private RouterAdvertiser? _advertiser;
    private bool _started;

    public DhcpServer(
        DhcpServerOptions options,
        IDhcpBootPolicy bootPolicy,
        IDhcpLeaseStore? leaseStore = null,
        IDhcpReservations? reservations = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
        _bootPolicy = bootPolicy ?? throw new ArgumentNullException(nameof(bootPolicy));
        _leaseStore = leaseStore ?? new InMemoryDhcpLeaseStore();
        _reservations = reservations ?? new DhcpReservations();
        _time = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("Streamboot.Protocols.Dhcp");
        _slots = new SemaphoreSlim(_options.MaxConcurrentRequests);
        _throttles = new DhcpLogThrottles(_options.RefusalLogLinesPerMinute);
    }

    public DhcpCounters Counters { get; } = new();

    /// <summary>Our address on the interface (option 54), known after <see cref="StartAsync"/>.</summary>
    public IPAddress? ServerAddress => _responder?.ServerAddress;

    /// <summary>The address pool in full mode (after start), for hosts that show leases.</summary>
    public DhcpLeasePool? Pool { get; private set; }

    /// <summary>
    /// Learns the interface's address, loads the leases (full mode), binds the
    /// sockets and starts answering. Throws when the interface does not exist
    /// or has no IPv4 address, or a port cannot be bound.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_started)
        {
            throw new InvalidOperationException("the server is already started");
        }

        _started = true;
        var serverAddress = _options.ServerAddress
            ?? InterfaceAddress.FirstIPv4(_options.InterfaceName)
            ?? throw new InvalidOperationException($"interface '{_options.InterfaceName}' has no IPv4 address to answer from");
        if (_options.Mode == DhcpMode.Full)
        {
            Pool = new DhcpLeasePool(_options.Pool!, _leaseStore, _reservations, _time, [serverAddress], _logger, Counters);
            await Pool.LoadAsync(cancellationToken).ConfigureAwait(false);
        }

        _responder = new DhcpResponder(_options.Mode, _bootPolicy, Pool, serverAddress, _options.ServerPort, _options.ClientPort);
        try
        {
            _sockets.Add(LinuxSockets.OpenUdp(_options.InterfaceName, _options.ServerPort));
            if (_options.PxePort != 0)
            {
                _sockets.Add(LinuxSockets.OpenUdp(_options.InterfaceName, _options.PxePort));
            }

            if (_options.SendRouterAdvertisements)
            {
                _advertiser = new RouterAdvertiser(new RouterAdvertiserOptions { InterfaceName = _options.InterfaceName }, _loggerFactory);
                _advertiser.Start();
            }
        }
        catch
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }

            throw;
        }

        _loops.Add(ReceiveLoopAsync(_sockets[0], pxePort: false, _stopping.Token));
        if (_sockets.Count > 1)
        {
            _loops.Add(ReceiveLoopAsync(_sockets[1], pxePort: true, _stopping.Token));
        }

        var ports = _options.PxePort != 0 ? $"{_options.ServerPort} and {_options.PxePort}" : $"{_options.ServerPort}";
        DhcpLog.Listening(_logger, _options.Mode, _options.InterfaceName, serverAddress, ports);
    }

    /// <summary>Stops receiving and waits for the requests in hand to be answered.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_loops).ConfigureAwait(false);
        for (var i = 0; i < _options.MaxConcurrentRequests; i++)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
        }

        if (_advertiser is not null)
        {
            await _advertiser.DisposeAsync().ConfigureAwait(false);
        }

        if (_started)
        {
            DhcpLog.Stopped(_logger, _options.InterfaceName, Counters);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Pool?.Dispose();
        _stopping.Dispose();
        _slots.Dispose();
    }

    private async Task ReceiveLoopAsync(Socket socket, bool pxePort, CancellationToken cancellationToken)
    {
        // Room for any UDP datagram, so that an oversized one is read whole
        // and known for what it is, rather than cut to look like a shorter one.
        var buffer = new byte[65536];
        while (!cancellationToken.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                DhcpLog.ReceiveFailed(_logger, _options.InterfaceName, e);
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            Counters.CountReceived();
            var source = (IPEndPoint)received.RemoteEndPoint;
            if (received.ReceivedBytes > _options.MaxDatagramSize)
            {
                Counters.CountDropped(DhcpDropReason.TooLarge);
                if (_throttles.Malformed.TryAcquire(out var suppressed))
                {
                    DhcpLog.TooLarge(_logger, _options.InterfaceName, received.ReceivedBytes, source, _options.MaxDatagramSize, suppressed);
                }

                continue;
            }

            var datagram = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            try
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Off this loop: the handler runs on the pool from its first line,
            // so a store that blocks its thread never blocks the reading.
            _ = Task.Run(() => HandleAsync(socket, datagram, source, pxePort, cancellationToken), CancellationToken.None);
        }
    }

    private async Task HandleAsync(Socket socket, byte[] datagram, IPEndPoint source, bool pxePort, CancellationToken cancellationToken)
    {
        var mode = _options.Mode;
        DhcpPacket? request = null;
        try
        {
            if (!DhcpPacket.TryParse(datagram, out request, out var error))
            {
                Counters.CountDropped(DhcpDropReason.Malformed);
                if (_throttles.Malformed.TryAcquire(out var suppressed))
                {
                    DhcpLog.Malformed(_logger, datagram.Length, source, DhcpDropReason.Malformed, error, suppressed);
                }

                return;
            }

            Counters.CountParsed(request.MessageType);
            var answer = await _responder!.AnswerAsync(request, pxePort, source, cancellationToken).ConfigureAwait(false);
            if (answer.Drop is { } reason)
            {
                Counters.CountDropped(reason);

                // Details quote the client's own text (its vendor class).
                if (reason == DhcpDropReason.PoolExhausted || reason == DhcpDropReason.ReplyTooLarge)
                {
                    if (_throttles.NotAnswered.TryAcquire(out var suppressed))
                    {
                        DhcpLog.NotAnswered(_logger, mode, request.ClientMac, reason, ClientText.ForLog(answer.Detail, 256), suppressed);
                    }
                }
                else if (_throttles.Dropped.TryAcquire(out var suppressed))
                {
                    DhcpLog.Dropped(_logger, mode, request.MessageType, request.ClientMac, source, reason, ClientText.ForLog(answer.Detail, 256), suppressed);
                }

                return;
            }

            if (answer.Reply is not { } reply)
            {
                Counters.CountHandled();
                DhcpLog.LeaseChanged(_logger, mode, answer.Client!.Mac, ClientText.ForLog(answer.Detail, 256));
                return;
            }

            var destination = answer.Destination!;
            try
            {
                await socket.SendToAsync(reply.ToArray(), SocketFlags.None, destination, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                DhcpLog.SendFailed(_logger, _options.InterfaceName, destination, e);
                return;
            }

            var type = reply.MessageType!.Value;
            Counters.CountSent(type);
            var client = answer.Client!;
            DhcpLog.Answered(
                _logger,
                mode,
                type,
                client.Mac,
                client.Architecture?.ToString() ?? "none",
                client.VendorClass is null ? null : ClientText.ForLog(client.VendorClass),
                reply.Yiaddr,
                ClientText.ForLog(answer.BootFile, 256),
                destination);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The host's policy, reservations or store failed: this client gets no answer, the next one does.
            Counters.CountDropped(DhcpDropReason.HostFailed);
            if (_throttles.HostFailed.TryAcquire(out var suppressed))
            {
                DhcpLog.HostFailed(_logger, mode, request?.ClientMac, suppressed, e);
            }

        }
        finally
        {
            _slots.Release();
        }
    }
}
