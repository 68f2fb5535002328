using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Tftp.Files;

namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>
/// One read transfer on its own socket (its own TID, RFC 1350 section 4):
/// open the file, OACK if options were granted, then windows of DATA
/// (RFC 7440; a window of 1 is plain lock-step RFC 1350) until the last block
/// is acknowledged. Block numbers on the wire wrap from 65535 to 0, as
/// tftpd-hpa and atftpd do; inside they count from 1 without wrapping.
/// </summary>
internal sealed class TftpTransfer
{
    private const int ReceiveBufferSize = 1024;

    private static readonly byte[] s_unknownTransferId = ErrorPacket(TftpErrorCode.UnknownTransferId, "Unknown transfer ID");

    private readonly Socket _socket;
    private readonly IPEndPoint _clientEndPoint;
    private readonly SocketAddress _client;
    private readonly SocketAddress _from;
    private readonly IPAddress _localAddress;
    private readonly TftpRequest _request;
    private readonly ITftpFileSource _source;
    private readonly TftpServerOptions _options;
    private readonly TftpCounters _counters;
    private readonly ILogger _logger;
    private readonly long _id;
    private byte[] _packet = [];
    private byte[] _receive = [];
    private CancellationTokenSource? _timer;

    // The highest block the client acknowledged (-1 while the OACK, block 0,
    // is unanswered), the highest block sent, and the last block of the file
    // (known from the size in octet mode, found at the end in netascii).
    private long _acked;
    private long _sent;
    private long _lastBlock = long.MaxValue;

    public TftpTransfer(long id, Socket socket, IPEndPoint client, IPAddress localAddress, TftpRequest request, ITftpFileSource source, TftpServerOptions options, TftpCounters counters, ILogger logger)
    {
        _id = id;
        _socket = socket;
        _clientEndPoint = client;
        _client = client.Serialize();
        _from = new SocketAddress(client.AddressFamily);
        _localAddress = localAddress;
        _request = request;
        _source = source;
        _options = options;
        _counters = counters;
        _logger = logger;
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        TftpFile? file = null;
        try
        {
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                TftpLog.TransferStarted(_logger, _id, _clientEndPoint, _request.FileName, _request.Mode, _socket.LocalEndPoint, string.Join(' ', _request.Options.Select(o => $"{o.Key}={o.Value}")));
            }

            TftpOpenResult opened;
            try
            {
                opened = await _source.OpenAsync(_request.FileName, new TftpClientInfo(_clientEndPoint, _localAddress, _request.Mode), stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                TftpLog.SourceFailed(_logger, _clientEndPoint, _request.FileName, e);
                Interlocked.Increment(ref _counters.TransfersFailed);
                await SendErrorAsync(TftpErrorCode.NotDefined, "Cannot open the file", stopping).ConfigureAwait(false);
                return;
            }

            if (opened.File is null)
            {
                await RefuseAsync(opened, stopping).ConfigureAwait(false);
                return;
            }

            file = opened.File;
            var negotiation = TftpNegotiation.Negotiate(_request, file.Length, _options);
            var (outcome, retransmissions) = await SendFileAsync(file, negotiation, stopping).ConfigureAwait(false);
            switch (outcome)
            {
                case TransferOutcome.Completed:
                    Interlocked.Increment(ref _counters.TransfersCompleted);
                    TftpLog.TransferCompleted(_logger, _clientEndPoint, _request.FileName, file.Length, Stopwatch.GetElapsedTime(started).TotalSeconds, negotiation.BlockSize, negotiation.WindowSize, retransmissions);
                    break;
                case TransferOutcome.Abandoned:
                    Interlocked.Increment(ref _counters.TransfersAbandoned);
                    TftpLog.Abandoned(_logger, _clientEndPoint, _request.FileName, _acked + 1, _options.MaxRetransmissions);
                    break;
                default:
                    Interlocked.Increment(ref _counters.TransfersCancelledByClient);
                    break;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            Interlocked.Increment(ref _counters.TransfersFailed);
            TftpLog.StoppedTransfer(_logger, _clientEndPoint, _request.FileName);
        }
        catch (Exception e)
        {
            // A file that cannot be read, a socket that broke: this transfer ends, the server goes on.
            Interlocked.Increment(ref _counters.TransfersFailed);
            TftpLog.TransferFailed(_logger, _clientEndPoint, _request.FileName, e);
            await SendErrorAsync(TftpErrorCode.NotDefined, "Transfer failed", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            file?.Dispose();
            _timer?.Dispose();
            _socket.Dispose();
            if (_packet.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_packet);
            }

            if (_receive.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_receive);
            }

            Interlocked.Decrement(ref _counters.ActiveTransfers);
        }
    }

    private async Task RefuseAsync(TftpOpenResult refusal, CancellationToken stopping)
    {
        Interlocked.Increment(ref _counters.RequestsRefused);
        if (refusal.Error == TftpOpenError.NotFound)
        {
            TftpLog.NotFound(_logger, _clientEndPoint, _request.FileName, refusal.Reason);
            await SendErrorAsync(TftpErrorCode.FileNotFound, "File not found", stopping).ConfigureAwait(false);
        }
        else
        {
            // The reason (server paths) goes to the log, not to the client.
            TftpLog.AccessViolation(_logger, _clientEndPoint, _request.FileName, refusal.Reason);
            await SendErrorAsync(TftpErrorCode.AccessViolation, "Access violation", stopping).ConfigureAwait(false);
        }
    }

    private async Task<(TransferOutcome Outcome, int Retransmissions)> SendFileAsync(TftpFile file, TftpNegotiation negotiation, CancellationToken stopping)
    {
        // Sized from what was granted, never from what the client asked.
        _packet = ArrayPool<byte>.Shared.Rent(Math.Max(TftpProtocol.HeaderSize + negotiation.BlockSize, 512));
        _receive = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        _timer = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        using var reader = BlockReader.Create(file, _request.Mode, negotiation.BlockSize, negotiation.WindowSize, _options.ReadChunkSize);
        if (_request.Mode == TftpMode.Octet)
        {
            // A file of exactly n blocks ends with an empty block n + 1.
            _lastBlock = (file.Length / negotiation.BlockSize) + 1;
        }

        _acked = negotiation.HasOptionAcknowledgment ? -1 : 0;
        _sent = 0;
        var inARow = 0;
        var total = 0;
        while (true)
        {
            if (_acked < 0)
            {
                await SendOptionAcknowledgmentAsync(negotiation, stopping).ConfigureAwait(false);
            }
            else
            {
                await SendWindowAsync(reader, negotiation, stopping).ConfigureAwait(false);
            }

            switch (await WaitForAckAsync(negotiation.Timeout, stopping).ConfigureAwait(false))
            {
                case AckResult.Advanced:
                    inARow = 0;
                    if (_acked == _lastBlock)
                    {
                        return (TransferOutcome.Completed, total);
                    }

                    // A partial window acknowledged means the client missed the block
                    // after it: the next window starts there (RFC 7440 section 4).
                    break;
                case AckResult.TimedOut:
                    if (inARow == _options.MaxRetransmissions)
                    {
                        return (TransferOutcome.Abandoned, total);
                    }

                    inARow++;
                    total++;
                    Interlocked.Increment(ref _counters.Retransmissions);
                    TftpLog.Retransmitting(_logger, _clientEndPoint, _request.FileName, _acked + 1);
                    break;
                default:
                    return (TransferOutcome.ClientError, total);
            }
        }
    }

    private async ValueTask SendOptionAcknowledgmentAsync(TftpNegotiation negotiation, CancellationToken stopping)
    {
        var length = TftpProtocol.WriteOptionAcknowledgment(_packet, negotiation.Acknowledged);
        await _socket.SendToAsync(_packet.AsMemory(0, length), SocketFlags.None, _client, stopping).ConfigureAwait(false);
    }

    /// <summary>Sends blocks acked + 1 to acked + windowsize (fewer at the end of the file).</summary>
    private async ValueTask SendWindowAsync(BlockReader reader, TftpNegotiation negotiation, CancellationToken stopping)
    {
        var blockSize = negotiation.BlockSize;
        var end = Math.Min(_acked + negotiation.WindowSize, _lastBlock);
        long bytes = 0;
        var packets = 0;
        for (var block = _acked + 1; block <= end; block++)
        {
            var length = await reader.FillAsync(block, _packet.AsMemory(TftpProtocol.HeaderSize, blockSize), stopping).ConfigureAwait(false);
            if (length < blockSize)
            {
                _lastBlock = block;
                end = block;
            }

            TftpProtocol.WriteDataHeader(_packet, unchecked((ushort)block));
            await _socket.SendToAsync(_packet.AsMemory(0, TftpProtocol.HeaderSize + length), SocketFlags.None, _client, stopping).ConfigureAwait(false);
            bytes += length;
            packets++;
        }

        _sent = Math.Max(_sent, end);
        Interlocked.Add(ref _counters.BytesSent, bytes);
        Interlocked.Add(ref _counters.PacketsSent, packets);
    }

    /// <summary>
    /// Waits for an ACK that moves forward. Duplicate and stale ACKs are
    /// ignored and never answered with data: answering them is what makes
    /// the Sorcerer's Apprentice (RFC 1123 section 4.2.3.1); the timeout
    /// resends instead. Packets from another TID get ERROR 5 and change nothing.
    /// </summary>
    private async ValueTask<AckResult> WaitForAckAsync(TimeSpan timeout, CancellationToken stopping)
    {
        var timer = _timer!;
        timer.CancelAfter(timeout);
        while (true)
        {
            int received;
            try
            {
                received = await _socket.ReceiveFromAsync(_receive, SocketFlags.None, _from, timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                timer.Dispose();
                _timer = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                return AckResult.TimedOut;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.MessageSize or SocketError.ConnectionReset or SocketError.ConnectionRefused)
            {
                // An oversized datagram, or an ICMP error for an earlier send: not an answer.
                Interlocked.Increment(ref _counters.MalformedPackets);
                TftpLog.Ignored(_logger, _clientEndPoint, _request.FileName, 0, e.SocketErrorCode.ToString());
                continue;
            }

            if (!_from.Equals(_client))
            {
                await AnswerStrangerAsync(stopping).ConfigureAwait(false);
                continue;
            }

            var result = Interpret(received);
            if (result is { } done)
            {
                if (done == AckResult.Advanced && !timer.TryReset())
                {
                    timer.Dispose();
                    _timer = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                }

                return done;
            }
        }
    }

    /// <summary>What a datagram from the client means: an ACK forward, an ERROR, or nothing.</summary>
    private AckResult? Interpret(int received)
    {
        var packet = _receive.AsSpan(0, received);
        var opcode = received >= 2 ? (TftpOpcode)BinaryPrimitives.ReadUInt16BigEndian(packet) : 0;
        if (opcode == TftpOpcode.Acknowledgment && received >= 4)
        {
            // The wire number is the low 16 bits; the distance from the last
            // acknowledged block says which block it is. Windows are at most
            // 32768 blocks, so that distance is never ambiguous.
            var block = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
            var delta = (ushort)(block - unchecked((ushort)_acked));
            if (delta != 0 && delta <= _sent - _acked)
            {
                _acked += delta;
                return AckResult.Advanced;
            }

            return null;
        }

        if (opcode == TftpOpcode.Error && received >= 4)
        {
            var code = (TftpErrorCode)BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
            var text = packet[4..];
            var end = text.IndexOf((byte)0);
            var message = Encoding.ASCII.GetString(end >= 0 ? text[..end] : text[..Math.Min(text.Length, 255)]);
            if (code == TftpErrorCode.OptionNegotiationFailed && _acked < 0)
            {
                // RFC 2347: the client declines the OACK; no answer is due.
                TftpLog.OptionsDeclined(_logger, _clientEndPoint, _request.FileName);
            }
            else
            {
                TftpLog.ClientError(_logger, _clientEndPoint, _request.FileName, code, message);
            }

            return AckResult.ClientError;
        }

        Interlocked.Increment(ref _counters.MalformedPackets);
        TftpLog.Ignored(_logger, _clientEndPoint, _request.FileName, received, opcode == 0 ? "too short" : $"opcode {(ushort)opcode}");
        return null;
    }

    private async ValueTask AnswerStrangerAsync(CancellationToken stopping)
    {
        Interlocked.Increment(ref _counters.MalformedPackets);
        Interlocked.Increment(ref _counters.ErrorsSent);
        TftpLog.UnknownTransferId(_logger, _clientEndPoint, _request.FileName, _clientEndPoint.Create(_from));
        try
        {
            await _socket.SendToAsync(s_unknownTransferId, SocketFlags.None, _from, stopping).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            // The stranger's problem, not the transfer's.
        }
    }

    private async Task SendErrorAsync(TftpErrorCode code, string message, CancellationToken cancellationToken)
    {
        try
        {
            Interlocked.Increment(ref _counters.ErrorsSent);
            await _socket.SendToAsync(ErrorPacket(code, message), SocketFlags.None, _client, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Best effort: the client times out on its own.
        }
    }

    internal static byte[] ErrorPacket(TftpErrorCode code, string message)
    {
        var buffer = new byte[5 + 255];
        return buffer[..TftpProtocol.WriteError(buffer, code, message)];
    }
}
