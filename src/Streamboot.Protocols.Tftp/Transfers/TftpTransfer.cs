using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Tftp.Files;
using Streamboot.Telemetry;

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
    private static readonly byte[] s_unknownTransferId = ErrorPacket(TftpErrorCode.UnknownTransferId, "Unknown transfer ID");

    private readonly UdpChannel _channel;
    private readonly IPEndPoint _clientEndPoint;
    private readonly IPAddress _localAddress;
    private readonly TftpRequest _request;
    private readonly ITftpFileSource _source;
    private readonly TftpServerOptions _options;
    private readonly TftpCounters _counters;
    private readonly TftpLogThrottles _throttles;
    private readonly ILogger _logger;
    private readonly long _id;

    // The client's file name as every log line of this transfer shows it (ClientText).
    private readonly string _file;
    private byte[] _packet = [];

    // The highest block the client acknowledged (-1 while the OACK, block 0,
    // is unanswered), the highest block sent, and the last block of the file
    // (known from the size in octet mode, found at the end in netascii).
    private long _acked;
    private long _sent;
    private long _lastBlock = long.MaxValue;

    public TftpTransfer(long id, UdpChannel channel, IPEndPoint client, IPAddress localAddress, TftpRequest request, ITftpFileSource source, TftpServerOptions options, TftpCounters counters, TftpLogThrottles throttles, ILogger logger)
    {
        _id = id;
        _channel = channel;
        _clientEndPoint = client;
        _localAddress = localAddress;
        _request = request;
        _source = source;
        _options = options;
        _counters = counters;
        _throttles = throttles;
        _logger = logger;
        _file = source.NameForLog(request.FileName);
        channel.StrangerAnswered = stranger =>
        {
            Interlocked.Increment(ref _counters.MalformedPackets);
            Interlocked.Increment(ref _counters.ErrorsSent);
            if (_throttles.Malformed.TryAcquire(out var suppressed))
            {
                TftpLog.UnknownTransferId(_logger, _clientEndPoint, _file, stranger, suppressed);
            }
        };
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        TftpFile? file = null;
        try
        {
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                TftpLog.TransferStarted(_logger, _id, _clientEndPoint, _file, _request.Mode, _channel.LocalEndPoint, string.Join(' ', _request.Options.Select(o => $"{ClientText.ForLog(o.Key, 32)}={ClientText.ForLog(o.Value, 32)}")));
            }

            TftpOpenResult opened;
            try
            {
                opened = await _source.OpenAsync(_request.FileName, new TftpClientInfo(_clientEndPoint, _localAddress, _request.Mode), stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                TftpLog.SourceFailed(_logger, _clientEndPoint, _file, e);
                Interlocked.Increment(ref _counters.TransfersFailed);
                SendError(TftpErrorCode.NotDefined, "Cannot open the file");
                return;
            }

            if (opened.File is null)
            {
                Refuse(opened);
                return;
            }

            file = opened.File;
            var negotiation = TftpNegotiation.Negotiate(_request, file.Length, _options);
            var (outcome, retransmissions, stalled) = await SendFileAsync(file, negotiation).ConfigureAwait(false);
            switch (outcome)
            {
                case TransferOutcome.Completed:
                    Interlocked.Increment(ref _counters.TransfersCompleted);
                    TftpLog.TransferCompleted(_logger, _clientEndPoint, _file, file.Length, Stopwatch.GetElapsedTime(started).TotalSeconds, negotiation.BlockSize, negotiation.WindowSize, retransmissions);
                    break;
                case TransferOutcome.Abandoned:
                    Interlocked.Increment(ref _counters.TransfersAbandoned);
                    if (_throttles.Abandoned.TryAcquire(out var suppressed))
                    {
                        TftpLog.Abandoned(_logger, _clientEndPoint, _file, _acked + 1, stalled.InARow, stalled.Time.TotalSeconds, suppressed);
                    }

                    break;
                default:
                    Interlocked.Increment(ref _counters.TransfersCancelledByClient);
                    break;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            Interlocked.Increment(ref _counters.TransfersFailed);
            TftpLog.StoppedTransfer(_logger, _clientEndPoint, _file);
        }
        catch (Exception e)
        {
            // A file that cannot be read, a socket that broke: this transfer ends, the server goes on.
            Interlocked.Increment(ref _counters.TransfersFailed);
            TftpLog.TransferFailed(_logger, _clientEndPoint, _file, e);
            SendError(TftpErrorCode.NotDefined, "Transfer failed");
        }
        finally
        {
            file?.Dispose();
            _channel.Dispose();
            if (_packet.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_packet);
            }

            Interlocked.Decrement(ref _counters.ActiveTransfers);
        }
    }

    private void Refuse(TftpOpenResult refusal)
    {
        Interlocked.Increment(ref _counters.RequestsRefused);
        StreambootMetrics.Refused(StreambootMetrics.Tftp, MetricLabel.Of(refusal.Error));

        // The reason (server paths, and the client's name inside them) goes to
        // the log, never to the client.
        var log = _throttles.Refused.TryAcquire(out var suppressed);
        var reason = log ? ClientText.ForLog(refusal.Reason, 512) : "";
        if (refusal.Error == TftpOpenError.NotFound)
        {
            if (log)
            {
                TftpLog.NotFound(_logger, _clientEndPoint, _file, reason, suppressed);
            }

            SendError(TftpErrorCode.FileNotFound, "File not found");
        }
        else
        {
            if (log)
            {
                TftpLog.AccessViolation(_logger, _clientEndPoint, _file, reason, suppressed);
            }

            SendError(TftpErrorCode.AccessViolation, "Access violation");
        }
    }

    /// <summary>
    /// The transfer's loop: send the window (or the OACK), wait for an ACK,
    /// repeat. One method on purpose: a lock-step block then resumes a single
    /// state machine, which is most of the managed cost per block.
    /// </summary>
    private async Task<(TransferOutcome Outcome, int Retransmissions, (int InARow, TimeSpan Time) Stalled)> SendFileAsync(TftpFile file, TftpNegotiation negotiation)
    {
        // Sized from what was granted, never from what the client asked.
        var blockSize = negotiation.BlockSize;
        _packet = ArrayPool<byte>.Shared.Rent(Math.Max(TftpProtocol.HeaderSize + blockSize, 512));
        var timeout = (long)(negotiation.Timeout.TotalSeconds * Stopwatch.Frequency);
        var maxRetryTime = (long)(_options.MaxRetryTime.TotalSeconds * Stopwatch.Frequency);
        using var reader = BlockReader.Create(file, _request.Mode, blockSize, negotiation.WindowSize, _options.ReadChunkSize);
        if (_request.Mode == TftpMode.Octet)
        {
            // A file of exactly n blocks ends with an empty block n + 1.
            _lastBlock = (file.Length / blockSize) + 1;
        }

        _acked = negotiation.HasOptionAcknowledgment ? -1 : 0;
        _sent = 0;
        var inARow = 0;
        var total = 0;
        long lastProgress = 0;
        while (true)
        {
            var now = Stopwatch.GetTimestamp();
            if (inARow == 0)
            {
                // Sending after an ACK that moved forward (or the first send):
                // the retry budget starts again here.
                lastProgress = now;
            }

            var deadline = now + timeout;
            if (_acked < 0)
            {
                var length = TftpProtocol.WriteOptionAcknowledgment(_packet, negotiation.Acknowledged);
                await _channel.SendAsync(_packet, length, deadline).ConfigureAwait(false);
            }
            else
            {
                // Blocks acked + 1 to acked + windowsize (fewer at the end of the file).
                var end = Math.Min(_acked + negotiation.WindowSize, _lastBlock);
                long bytes = 0;
                var packets = 0;
                for (var block = _acked + 1; block <= end; block++)
                {
                    var fill = reader.FillAsync(block, _packet.AsMemory(TftpProtocol.HeaderSize, blockSize), CancellationToken.None);
                    var length = fill.IsCompletedSuccessfully ? fill.Result : await fill.ConfigureAwait(false);
                    if (length < blockSize)
                    {
                        _lastBlock = block;
                        end = block;
                    }

                    TftpProtocol.WriteDataHeader(_packet, unchecked((ushort)block));
                    var send = _channel.SendAsync(_packet, TftpProtocol.HeaderSize + length, deadline);
                    if (!send.IsCompletedSuccessfully)
                    {
                        await send.ConfigureAwait(false);
                    }

                    bytes += length;
                    packets++;
                }

                _sent = Math.Max(_sent, end);
                Interlocked.Add(ref _counters.BytesSent, bytes);
                Interlocked.Add(ref _counters.PacketsSent, packets);
            }

            // Wait for an ACK that moves forward. Duplicate and stale ACKs are
            // ignored and never answered with data: answering them is what
            // makes the Sorcerer's Apprentice (RFC 1123 section 4.2.3.1); the
            // timeout resends instead. Datagrams from another TID get ERROR 5
            // and change nothing, not even the deadline.
            deadline = Stopwatch.GetTimestamp() + timeout;
            AckResult? result = null;
            while (result is null)
            {
                var wait = _channel.WaitAsync(writable: false, deadline);
                var signal = wait.IsCompletedSuccessfully ? wait.Result : await wait.ConfigureAwait(false);
                if (signal == PumpSignal.TimedOut)
                {
                    result = AckResult.TimedOut;
                    break;
                }

                if (signal == PumpSignal.Stopped)
                {
                    throw new OperationCanceledException("the server is stopping");
                }

                // Everything queued, until an answer or nothing is left.
                int received;
                while (result is null && (received = _channel.Receive()) != -LinuxUdp.EAgain)
                {
                    if (received < 0)
                    {
                        // An ICMP error for an earlier send, reported on this socket: not an answer.
                        Interlocked.Increment(ref _counters.MalformedPackets);
                        TftpLog.Ignored(_logger, _clientEndPoint, _file, 0, $"errno {-received}");
                    }
                    else if (!_channel.FromClient)
                    {
                        AnswerStranger();
                    }
                    else
                    {
                        result = Interpret(received);
                    }
                }
            }

            switch (result)
            {
                case AckResult.Advanced:
                    inARow = 0;
                    if (_acked == _lastBlock)
                    {
                        return (TransferOutcome.Completed, total, default);
                    }

                    // A partial window acknowledged means the client missed the block
                    // after it: the next window starts there (RFC 7440 section 4).
                    break;
                case AckResult.TimedOut:
                    // Retransmissions in a row, and the time since the last
                    // progress whatever the timeout: either ends a silent client.
                    var stalled = Stopwatch.GetTimestamp() - lastProgress;
                    if (inARow == _options.MaxRetransmissions || stalled >= maxRetryTime)
                    {
                        return (TransferOutcome.Abandoned, total, (inARow, Stopwatch.GetElapsedTime(lastProgress)));
                    }

                    inARow++;
                    total++;
                    Interlocked.Increment(ref _counters.Retransmissions);
                    TftpLog.Retransmitting(_logger, _clientEndPoint, _file, _acked + 1);
                    break;
                default:
                    return (TransferOutcome.ClientError, total, default);
            }
        }
    }

    /// <summary>What a datagram from the client means: an ACK forward, an ERROR, or nothing.</summary>
    private AckResult? Interpret(int received)
    {
        var packet = _channel.Buffer.AsSpan(0, Math.Min(received, _channel.Buffer.Length));
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
                TftpLog.OptionsDeclined(_logger, _clientEndPoint, _file);
            }
            else
            {
                TftpLog.ClientError(_logger, _clientEndPoint, _file, code, ClientText.ForLog(message));
            }

            return AckResult.ClientError;
        }

        Interlocked.Increment(ref _counters.MalformedPackets);
        TftpLog.Ignored(_logger, _clientEndPoint, _file, received, opcode == 0 ? "too short" : $"opcode {(ushort)opcode}");
        return null;
    }

    private void AnswerStranger()
    {
        Interlocked.Increment(ref _counters.MalformedPackets);
        Interlocked.Increment(ref _counters.ErrorsSent);
        if (_throttles.Malformed.TryAcquire(out var suppressed))
        {
            TftpLog.UnknownTransferId(_logger, _clientEndPoint, _file, _channel.Sender, suppressed);
        }

        _channel.ReplyToSender(s_unknownTransferId);
    }

    /// <summary>Best effort: a client that misses it times out on its own.</summary>
    private void SendError(TftpErrorCode code, string message)
    {
        Interlocked.Increment(ref _counters.ErrorsSent);
        var packet = ErrorPacket(code, message);
        _ = _channel.TrySend(packet, packet.Length);
    }

    internal static byte[] ErrorPacket(TftpErrorCode code, string message)
    {
        var buffer = new byte[5 + 255];
        return buffer[..TftpProtocol.WriteError(buffer, code, message)];
    }
}
