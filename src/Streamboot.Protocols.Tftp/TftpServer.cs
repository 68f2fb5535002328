using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Protocols.Tftp.Files;
using Streamboot.Protocols.Tftp.Transfers;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Tftp;

/// <summary>
/// A read-only TFTP server. One socket takes requests (port 69 in
/// production); each read gets a transfer on a socket of its own, driven by
/// a few event-loop threads (<see cref="TransferPump"/>, epoll: Linux only),
/// never a thread per transfer. What a file name means is the
/// <see cref="ITftpFileSource"/>'s business.
/// </summary>
public sealed class TftpServer : IAsyncDisposable
{
    private readonly ITftpFileSource _source;
    private readonly TftpServerOptions _options;
    private readonly ILogger _logger;
    private readonly TftpCounters _counters = new();
    private readonly ConcurrentDictionary<long, Task> _transfers = new();
    private readonly Dictionary<IPAddress, int> _transfersPerClient = [];
    private readonly Lock _transfersPerClientLock = new();
    private readonly TftpLogThrottles _throttles;
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _socket;
    private TransferPump[] _pumps = [];
    private IPEndPoint? _boundEndPoint;
    private Task? _receiveLoop;
    private long _nextId;

    public TftpServer(ITftpFileSource source, TftpServerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _options = options ?? new TftpServerOptions();
        _options.Validate();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Streamboot.Protocols.Tftp");
        _throttles = new TftpLogThrottles(_options.RefusalLogLinesPerMinute);
    }

    /// <summary>Where <see cref="Start"/> listens (the real port when 0 was asked).</summary>
    public IPEndPoint? LocalEndPoint => _boundEndPoint;

    /// <summary>The counters since the server was made.</summary>
    public TftpServerStatistics Statistics => _counters.Snapshot();

    /// <summary>Binds <paramref name="endPoint"/> (0.0.0.0:69, a single address, or port 0 for a free one) and serves in the background.</summary>
    public void Start(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (_socket is not null)
        {
            throw new InvalidOperationException("the server is already listening");
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the TFTP transfer pump uses epoll (Linux)");
        }

        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = true;
            }

            // The address each request came to, so that a server bound to
            // 0.0.0.0 answers from the address the client talked to.
            socket.SetSocketOption(
                endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? SocketOptionLevel.IPv6 : SocketOptionLevel.IP,
                SocketOptionName.PacketInformation,
                true);

            // A boot storm sends hundreds of requests at once; the kernel clamps this to rmem_max.
            socket.ReceiveBufferSize = 1024 * 1024;
            socket.Bind(endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        _boundEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _pumps = [.. Enumerable.Range(0, Math.Clamp(Environment.ProcessorCount, 1, 4)).Select(i => new TransferPump($"tftp pump {i}", _logger))];
        TftpLog.Listening(_logger, _boundEndPoint);
        _receiveLoop = Task.Run(() => ReceiveLoopAsync(socket, _stopping.Token));
    }

    /// <summary>Stops taking requests, cuts every running transfer and waits for them.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (_receiveLoop is not null)
        {
            await _receiveLoop.ConfigureAwait(false);
        }

        // Every waiting transfer gets Stopped and ends; then the pumps close.
        foreach (var pump in _pumps)
        {
            pump.Stop();
        }

        await Task.WhenAll(_transfers.Values).ConfigureAwait(false);
        foreach (var pump in _pumps)
        {
            pump.Dispose();
        }

        TftpLog.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken stopping)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(TftpProtocol.MaxDatagramSize);
        EndPoint any = socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            SocketReceiveMessageFromResult received;
            try
            {
                received = await socket.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, stopping).ConfigureAwait(false);
                failures = 0;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // ICMP errors, a truncated datagram: the loop goes on, slowing down if it repeats.
                TftpLog.ReceiveFailed(_logger, e);
                if (++failures > 10)
                {
                    await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                }

                continue;
            }

            var client = (IPEndPoint)received.RemoteEndPoint;
            try
            {
                await HandleDatagramAsync(socket, buffer.AsMemory(0, received.ReceivedBytes), client, received.PacketInformation.Address, stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Nothing a datagram holds may end the loop.
                TftpLog.RequestFailed(_logger, client, e);
            }
        }
    }

    private async ValueTask HandleDatagramAsync(Socket socket, ReadOnlyMemory<byte> datagram, IPEndPoint client, IPAddress? arrivedOn, CancellationToken stopping)
    {
        var rejection = TftpRequestParser.TryParse(datagram.Span, out var request);
        if (rejection != TftpRequestRejection.None)
        {
            Interlocked.Increment(ref _counters.MalformedPackets);
            StreambootMetrics.Refused(StreambootMetrics.Tftp, MetricLabel.Of(rejection));
            if (_throttles.Malformed.TryAcquire(out var suppressed))
            {
                TftpLog.MalformedRequest(_logger, client, datagram.Length, rejection, suppressed);
            }

            var (code, message) = rejection switch
            {
                TftpRequestRejection.Truncated or TftpRequestRejection.ErrorPacket => (default(TftpErrorCode?), ""),
                TftpRequestRejection.NoTransfer => (TftpErrorCode.UnknownTransferId, "Unknown transfer ID"),
                TftpRequestRejection.UnknownMode => (TftpErrorCode.IllegalOperation, "Unknown transfer mode"),
                TftpRequestRejection.InvalidFileName => (TftpErrorCode.AccessViolation, "Invalid file name"),
                TftpRequestRejection.MissingTerminator => (TftpErrorCode.IllegalOperation, "Malformed request"),
                _ => (TftpErrorCode.IllegalOperation, "Illegal TFTP operation"),
            };
            if (code is { } error)
            {
                await SendErrorAsync(socket, client, error, message, stopping).ConfigureAwait(false);
            }

            return;
        }

        if (request!.Opcode == TftpOpcode.WriteRequest)
        {
            // WRQ is a legal operation this server does not allow: access
            // violation (2), the way tftpd-hpa refuses writes without -c.
            Interlocked.Increment(ref _counters.RequestsRefused);
            StreambootMetrics.Refused(StreambootMetrics.Tftp, "write_request");
            if (_throttles.Malformed.TryAcquire(out var suppressed))
            {
                TftpLog.WriteRefused(_logger, client, _source.NameForLog(request.FileName), suppressed);
            }

            await SendErrorAsync(socket, client, TftpErrorCode.AccessViolation, "Server is read-only", stopping).ConfigureAwait(false);
            return;
        }

        // One address first, so that its flood is counted against itself
        // and never reaches the slots every other client shares.
        var address = client.Address.IsIPv4MappedToIPv6 ? client.Address.MapToIPv4() : client.Address;
        if (!TryTakeClientSlot(address))
        {
            Interlocked.Increment(ref _counters.RequestsDropped);
            Interlocked.Increment(ref _counters.RequestsDroppedPerClient);
            StreambootMetrics.Refused(StreambootMetrics.Tftp, "too_many_transfers_per_client");
            if (_throttles.Dropped.TryAcquire(out var suppressed))
            {
                TftpLog.TooManyFromClient(_logger, client, _source.NameForLog(request.FileName), _options.MaxTransfersPerClient, suppressed);
            }

            return;
        }

        if (Interlocked.Increment(ref _counters.ActiveTransfers) > _options.MaxTransfers)
        {
            Interlocked.Decrement(ref _counters.ActiveTransfers);
            ReleaseClientSlot(address);
            Interlocked.Increment(ref _counters.RequestsDropped);
            StreambootMetrics.Refused(StreambootMetrics.Tftp, "too_many_transfers");
            if (_throttles.Dropped.TryAcquire(out var suppressed))
            {
                TftpLog.TooManyTransfers(_logger, client, _source.NameForLog(request.FileName), _options.MaxTransfers, suppressed);
            }

            return;
        }

        var local = arrivedOn is null || arrivedOn.Equals(IPAddress.Any) || arrivedOn.Equals(IPAddress.IPv6Any) ? _boundEndPoint!.Address : arrivedOn;
        var id = Interlocked.Increment(ref _nextId);
        UdpChannel channel;
        try
        {
            channel = UdpChannel.Open(_pumps[id % _pumps.Length], local, client, id, _options.SocketSendBufferSize);
        }
        catch (SocketException e)
        {
            // Out of ports or descriptors: the client retries its request.
            Interlocked.Decrement(ref _counters.ActiveTransfers);
            ReleaseClientSlot(address);
            Interlocked.Increment(ref _counters.RequestsDropped);
            TftpLog.TransferSocketFailed(_logger, client, _source.NameForLog(request.FileName), e);
            return;
        }

        Interlocked.Increment(ref _counters.TransfersStarted);
        var transfer = new TftpTransfer(id, channel, client, local, request, _source, _options, _counters, _throttles, _logger);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _transfers[id] = done.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                await transfer.RunAsync(stopping).ConfigureAwait(false);
            }
            finally
            {
                ReleaseClientSlot(address);
                _transfers.TryRemove(id, out _);
                done.TrySetResult();
            }
        }, CancellationToken.None);
    }

    /// <summary>Counts a transfer against its client's address, unless that address is at <see cref="TftpServerOptions.MaxTransfersPerClient"/>.</summary>
    private bool TryTakeClientSlot(IPAddress address)
    {
        lock (_transfersPerClientLock)
        {
            _transfersPerClient.TryGetValue(address, out var running);
            if (running >= _options.MaxTransfersPerClient)
            {
                return false;
            }

            _transfersPerClient[address] = running + 1;
            return true;
        }
    }

    private void ReleaseClientSlot(IPAddress address)
    {
        lock (_transfersPerClientLock)
        {
            // An address with nothing running is forgotten: the table holds running clients only.
            if (_transfersPerClient.TryGetValue(address, out var running) && running > 1)
            {
                _transfersPerClient[address] = running - 1;
            }
            else
            {
                _transfersPerClient.Remove(address);
            }
        }
    }

    private async ValueTask SendErrorAsync(Socket socket, IPEndPoint client, TftpErrorCode code, string message, CancellationToken stopping)
    {
        Interlocked.Increment(ref _counters.ErrorsSent);
        try
        {
            await socket.SendToAsync(TftpTransfer.ErrorPacket(code, message), SocketFlags.None, client, stopping).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            // The client's address is unreachable: nothing to do.
        }
    }
}
