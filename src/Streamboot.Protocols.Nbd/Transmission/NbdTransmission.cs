using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Nbd.Connections;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Protocols.Nbd.Limits;
using Streamboot.Storage.BlockDevices;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Nbd.Transmission;

/// <summary>
/// The transmission phase, doc/proto.md "Transmission": one reader takes
/// requests off the stream in order and starts each as it arrives; they reply
/// in whatever order they finish. A request runs on the reader's flow until it
/// must wait (a device that completes synchronously, such as a raw file in
/// the page cache, runs to its reply inline: the cheapest path there is), then
/// goes on by itself while the reader reads on. Each request holds its share
/// of the connection's and the server's in-flight limits (<see cref="NbdInFlight"/>)
/// until its reply has left (<see cref="NbdReplyWriter"/> gives it back); the
/// reader stops reading while there is no room, so a client that does not
/// read its replies stops being read.
/// </summary>
internal sealed class NbdTransmission
{
    private readonly NbdTransport _transport;
    private readonly NbdInput _input;
    private readonly NbdSession _session;
    private readonly NbdServerOptions _options;
    private readonly NbdSessionCounters _counters;
    private readonly ILogger _logger;
    private readonly NbdConnectionInfo _info;
    private readonly NbdReplyWriter _writer;
    private readonly NbdCommandRunner _runner;
    private CancellationTokenSource? _broken;

    public NbdTransmission(NbdTransport transport, NbdSession session, NbdServerOptions options, NbdInFlightBudget budget, NbdSessionCounters counters, ILogger logger, NbdConnectionInfo info)
    {
        _transport = transport;
        _input = transport.Input;
        _session = session;
        _options = options;
        _counters = counters;
        _logger = logger;
        _info = info;
        InFlight = new NbdInFlight(options, budget);
        var socket = options.ZeroCopyReads && Native.LinuxSocket.IsSupported ? transport.ZeroCopySocket : null;
        _writer = new NbdReplyWriter(transport, socket, InFlight, session.StructuredReplies, Break);
        _runner = new NbdCommandRunner(session, _writer, counters, logger, info);
    }

    public NbdInFlight InFlight { get; }

    /// <summary>
    /// Reads and runs requests until the client disconnects or the connection
    /// breaks, then waits for the requests in flight. Returns how it ended;
    /// throws <see cref="NbdProtocolException"/> when the client broke the
    /// protocol, and OperationCanceledException when <paramref name="cancellationToken"/> ended it.
    /// </summary>
    public async Task<NbdSessionEndReason> RunAsync(CancellationToken cancellationToken)
    {
        // Cancelled when the connection is stopped or a reply cannot be sent (the client is gone).
        using var broken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _broken = broken;
        var token = broken.Token;
        using var withdrawn = _session.Export.Withdrawn.Register(() => Break(new BlockDeviceException(BlockDeviceError.Moved, "the export was withdrawn")));
        _writer.Start(token);
        _writer.EnterReader();
        try
        {
            return await ReadRequestsAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (broken.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return NbdSessionEndReason.ConnectionLost; // a reply could not be sent
        }
        finally
        {
            // The client must have every reply that was gathered; then each request's reply leaves (or is dropped).
            _writer.Flush();
            _writer.LeaveReader();
            await InFlight.WaitUntilEmptyAsync().ConfigureAwait(false);
            _writer.Stop();
            _broken = null;
        }
    }

    private async Task<NbdSessionEndReason> ReadRequestsAsync(CancellationToken token)
    {
        while (true)
        {
            if (_input.Buffered < NbdProtocol.RequestHeaderSize)
            {
                // About to wait for the client: it must have every reply first.
                _writer.Flush();
                if (!await OffReaderAsync(_input.EnsureAsync(NbdProtocol.RequestHeaderSize, token)).ConfigureAwait(false))
                {
                    return NbdSessionEndReason.ConnectionLost;
                }
            }

            var request = NbdRequest.Parse(_input.Peek(NbdProtocol.RequestHeaderSize));
            var received = Stopwatch.GetTimestamp();
            _input.Advance(NbdProtocol.RequestHeaderSize);
            if (request.Magic != NbdProtocol.RequestMagic)
            {
                // Out of sync with the client: nothing after this can be trusted.
                throw new NbdProtocolException($"bad request magic 0x{request.Magic:x8}");
            }

            _counters.Request();
            if (request.Command == NbdCommand.Disc)
            {
                // No reply; requests in flight finish before the close.
                return NbdSessionEndReason.Disconnected;
            }

            if ((request.Flags & NbdCommandFlags.PayloadLen) != 0)
            {
                // Only meaningful with extended headers, which are not offered:
                // the payload length cannot be trusted, so neither can the stream.
                throw new NbdProtocolException("NBD_CMD_FLAG_PAYLOAD_LEN without extended headers");
            }

            var (error, reason) = NbdRequestValidator.Validate(_session, request, _options.MaxPayloadSize);
            var cost = Cost(request, error);
            if (!InFlight.TryEnter(cost))
            {
                // Backpressure: the replies waiting to go must leave before more is read.
                _writer.Flush();
                await OffReaderAsync(InFlight.EnterAsync(cost, token)).ConfigureAwait(false);
            }

            byte[]? payload;
            try
            {
                payload = await ReadPayloadAsync(request, error, token).ConfigureAwait(false);
            }
            catch
            {
                // The client vanished mid-payload: the request never started.
                InFlight.Exit(1, cost);
                throw;
            }

            if (error != NbdError.None)
            {
                _runner.Refuse(request, error, reason, cost);
            }
            else
            {
                var running = _runner.RunAsync(request, payload, cost, token);
                if (running.IsCompleted)
                {
                    Finished(running, cost, received);
                }
                else
                {
                    _ = FinishLaterAsync(running, cost, received);
                }
            }

            if (_writer.ShouldFlush)
            {
                _writer.Flush();
            }
        }
    }

    /// <summary>A WRITE's payload (null for other commands); a refused WRITE's payload is read past, never held.</summary>
    private async ValueTask<byte[]?> ReadPayloadAsync(NbdRequest request, NbdError error, CancellationToken token)
    {
        if (request.Command != NbdCommand.Write)
        {
            return null;
        }

        if (_input.Buffered < request.Length)
        {
            _writer.Flush();
        }

        if (error != NbdError.None)
        {
            await OffReaderAsync(_input.SkipAsync(request.Length, token)).ConfigureAwait(false);
            return null;
        }

        var payload = ArrayPool<byte>.Shared.Rent((int)request.Length);
        try
        {
            await OffReaderAsync(_input.ReadExactlyAsync(payload.AsMemory(0, (int)request.Length), token)).ConfigureAwait(false);
            return payload;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(payload);
            throw;
        }
    }

    /// <summary>
    /// What a request holds until its reply has left: a READ its reply, a WRITE
    /// its payload, CACHE and BLOCK_STATUS their buffers; a refused request
    /// (a short error reply) and the rest nothing beyond their count.
    /// </summary>
    private long Cost(NbdRequest request, NbdError error)
    {
        if (error != NbdError.None)
        {
            return 0;
        }

        return request.Command switch
        {
            NbdCommand.Read => request.Length + NbdProtocol.MaxReplyHeaderSize,
            NbdCommand.Write => request.Length,
            NbdCommand.Cache => Math.Min(request.Length, NbdCommandRunner.CacheChunk),
            NbdCommand.BlockStatus => NbdCommandRunner.BlockStatusReplySize,
            _ => 0,
        };
    }

    /// <summary>
    /// A request that completed handed its reply (and its share) to the
    /// writer, and its time since <paramref name="received"/> is its latency;
    /// one that threw did not.
    /// </summary>
    private void Finished(ValueTask running, long cost, long received)
    {
        try
        {
            running.GetAwaiter().GetResult();
            StreambootMetrics.NbdRequestDuration.Record(StreambootMetrics.SecondsSince(received));
        }
        catch (Exception e)
        {
            InFlight.Exit(1, cost);
            Break(e);
        }
    }

    private async Task FinishLaterAsync(ValueTask running, long cost, long received)
    {
        try
        {
            await running.ConfigureAwait(false);
            StreambootMetrics.NbdRequestDuration.Record(StreambootMetrics.SecondsSince(received));
        }
        catch (Exception e)
        {
            InFlight.Exit(1, cost);
            Break(e);
        }
    }

    /// <summary>A reply could not be sent (part of it may be out) or a request failed unexpectedly: the connection is done; stop reading requests.</summary>
    private void Break(Exception e)
    {
        if (e is BlockDeviceException { Error: BlockDeviceError.Moved })
        {
            NbdLog.SessionMoved(_logger, _info);
        }
        else if (e is not OperationCanceledException)
        {
            if (NbdConnection.IsConnectionFailure(e))
            {
                NbdLog.SendFailed(_logger, _info, e);
            }
            else
            {
                NbdLog.Unexpected(_logger, _info, e);
            }
        }

        try
        {
            _broken?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _transport.Abort();
    }

    /// <summary>
    /// Awaits an operation of the reader. Should it have to wait, the reader's
    /// flow is left first (nothing batches meanwhile) and entered again on the
    /// thread it resumes on.
    /// </summary>
    private async ValueTask OffReaderAsync(ValueTask operation)
    {
        if (operation.IsCompleted)
        {
            operation.GetAwaiter().GetResult();
            return;
        }

        _writer.LeaveReader();
        try
        {
            await operation.ConfigureAwait(false);
        }
        finally
        {
            _writer.EnterReader();
        }
    }

    private async ValueTask<T> OffReaderAsync<T>(ValueTask<T> operation)
    {
        if (operation.IsCompleted)
        {
            return operation.GetAwaiter().GetResult();
        }

        _writer.LeaveReader();
        try
        {
            return await operation.ConfigureAwait(false);
        }
        finally
        {
            _writer.EnterReader();
        }
    }
}
