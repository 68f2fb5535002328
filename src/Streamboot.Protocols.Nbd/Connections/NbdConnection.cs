using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Protocols.Nbd.Handshake;
using Streamboot.Protocols.Nbd.Limits;
using Streamboot.Protocols.Nbd.Transmission;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// One client from the first byte to the last: the handshake
/// (<see cref="NbdHandshake"/>, with its time limit), then transmission
/// (<see cref="NbdTransmission"/>). Owns the transport and the session's
/// export, which it ends exactly once however the connection ends. The
/// server's sweep closes it when it idles or stalls (<see cref="CheckIdle"/>).
/// </summary>
internal sealed class NbdConnection
{
    private readonly NbdTransport _transport;
    private readonly INbdExportProvider _provider;
    private readonly NbdServerOptions _options;
    private readonly NbdInFlightBudget _budget;
    private readonly ILogger _logger;
    private readonly NbdSessionCounters _counters = new();
    private readonly CancellationTokenSource _stop;
    private NbdTransmission? _transmission;
    private int _closing;
    private NbdSessionEndReason? _closedBy;

    public NbdConnection(NbdTransport transport, NbdConnectionInfo info, INbdExportProvider provider, NbdServerOptions options, NbdInFlightBudget budget, ILogger logger, CancellationToken stopping)
    {
        _transport = transport;
        Info = info;
        _provider = provider;
        _options = options;
        _budget = budget;
        _logger = logger;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    }

    public NbdConnectionInfo Info { get; }

    /// <summary>Bytes this connection holds in flight now (0 before transmission).</summary>
    public long InFlightBytes => _transmission?.InFlight.Bytes ?? 0;

    /// <summary>Runs the connection to its end; never throws for anything the client does.</summary>
    public async Task RunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        NbdSession? session = null;
        var reason = NbdSessionEndReason.NotStarted;
        try
        {
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                handshake.CancelAfter(_options.HandshakeTimeout);
                try
                {
                    session = await new NbdHandshake(_transport, _provider, _options, _logger, Info).NegotiateAsync(handshake.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (handshake.IsCancellationRequested && !_stop.IsCancellationRequested)
                {
                    NbdLog.HandshakeFailed(_logger, Info, $"no transmission after {_options.HandshakeTimeout.TotalSeconds:0.#} s");
                    return;
                }
            }

            if (session is not null)
            {
                reason = NbdSessionEndReason.ConnectionLost;
                _transmission = new NbdTransmission(_transport, session, _options, _budget, _counters, _logger, Info);
                var ended = await _transmission.RunAsync(_stop.Token).ConfigureAwait(false);
                // Closed under the reader (idle, stalled, stopping), it may still have seen a plain end of input.
                reason = _closedBy ?? (_stop.IsCancellationRequested ? NbdSessionEndReason.ServerStopped : ended);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Closed by the sweep (idle, stalled) or by the server stopping.
            if (session is not null)
            {
                reason = _closedBy ?? NbdSessionEndReason.ServerStopped;
            }
        }
        catch (NbdProtocolException e)
        {
            NbdLog.ProtocolError(_logger, Info, e.Message);
            if (session is not null)
            {
                reason = NbdSessionEndReason.ProtocolError;
            }
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            // The client went away: nothing to answer.
            if (session is null)
            {
                NbdLog.HandshakeFailed(_logger, Info, NbdLogText.Sanitize(e.Message));
            }
        }
        catch (Exception e)
        {
            NbdLog.Unexpected(_logger, Info, e);
        }
        finally
        {
            NbdLog.Closed(_logger, Info, reason.ToString(), _counters.Requests);
            await _transport.DisposeAsync().ConfigureAwait(false);
            if (session is not null)
            {
                var summary = new NbdSessionSummary(Info, session.Export.Name, reason, _counters.Requests, _counters.BytesRead, _counters.BytesWritten, Stopwatch.GetElapsedTime(started));
                await EndSessionAsync(session.Export, summary, _provider, _logger, Info).ConfigureAwait(false);
            }

            _stop.Dispose();
        }
    }

    /// <summary>
    /// The server's periodic look: a connection in transmission with nothing
    /// in flight for <paramref name="idle"/>, or with requests in flight none
    /// of which finished for <paramref name="stall"/>, is closed.
    /// </summary>
    public void CheckIdle(TimeSpan? idle, TimeSpan? stall)
    {
        if (_transmission is not { } transmission)
        {
            return;
        }

        if (idle is { } i && transmission.InFlight.IsIdle(i))
        {
            NbdLog.IdleClosed(_logger, Info, i.TotalSeconds);
            Close(NbdSessionEndReason.IdleTimeout);
        }
        else if (stall is { } s && transmission.InFlight.IsStalled(s))
        {
            NbdLog.StallClosed(_logger, Info, transmission.InFlight.Requests, transmission.InFlight.Bytes, s.TotalSeconds);
            Close(NbdSessionEndReason.Stalled);
        }
    }

    private void Close(NbdSessionEndReason reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        _closedBy = reason;
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        // Sends a client does not take wait in the socket: closing it ends them.
        _transport.Abort();
    }

    internal static bool IsConnectionFailure(Exception e) =>
        e is IOException or EndOfStreamException or OperationCanceledException or ObjectDisposedException or SocketException;

    /// <summary>Ends a session: the summary, then the export's own end (exceptions logged, never thrown).</summary>
    internal static async ValueTask EndSessionAsync(NbdExport export, NbdSessionSummary summary, INbdExportProvider provider, ILogger logger, NbdConnectionInfo info)
    {
        export.Summary = summary;
        try
        {
            await export.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            NbdLog.SessionEndFailed(logger, info, provider.NameForLog(export.Name), e);
        }
    }
}
