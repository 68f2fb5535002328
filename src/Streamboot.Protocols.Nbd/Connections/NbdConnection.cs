using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Nbd.Exports;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// One client from the first byte to the last: the fixed-newstyle handshake
/// (NbdConnection.Handshake.cs), then transmission (NbdConnection.Transmission.cs)
/// with replies written under one lock (NbdConnection.Replies.cs). Owns the
/// stream, its buffers and the opened export, which it disposes exactly once
/// however the connection ends.
/// </summary>
internal sealed partial class NbdConnection
{
    private readonly Stream _stream;
    private readonly NbdInput _input;
    private readonly INbdExportProvider _provider;
    private readonly NbdServerOptions _options;
    private readonly ILogger _logger;
    private readonly NbdConnectionInfo _info;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _scratch = new byte[NbdProtocol.MaxStringLength + 256];
    private NbdClientFlags _clientFlags;
    private bool _structuredReplies;
    private string? _metaContextExport;
    private bool _baseAllocation;
    private NbdExport? _export;
    private NbdSessionEndReason _endReason = NbdSessionEndReason.NotStarted;
    private long _requests;
    private long _bytesRead;
    private long _bytesWritten;

    private readonly bool _blocking;

    // workers: set when the caller gave this connection a thread of its own; reads are
    // then blocking calls (see NbdInput) and big reads go to the workers.
    private readonly NbdWorkers? _workers;

    public NbdConnection(Stream stream, NbdConnectionInfo info, INbdExportProvider provider, NbdServerOptions options, ILogger logger, NbdWorkers? workers, SafeSocketHandle? socket = null)
    {
        _socket = socket;
        var blocking = workers is not null;
        _workers = workers;
        _stream = stream;
        _blocking = blocking;
        _input = new NbdInput(stream, blocking);
        _info = info;
        _provider = provider;
        _options = options;
        _logger = logger;
    }

    /// <summary>Runs the connection to its end; never throws for anything the client does.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        // Blocking reads do not see tokens: closing the stream is what wakes them.
        using var stopping = _blocking ? cancellationToken.Register(static s => ((Stream)s!).Dispose(), _stream) : default;
        try
        {
            bool transmission;
            using (var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                handshakeTimeout.CancelAfter(_options.HandshakeTimeout);
                using var timeout = _blocking ? handshakeTimeout.Token.Register(static s => ((Stream)s!).Dispose(), _stream) : default;
                transmission = await NegotiateAsync(handshakeTimeout.Token).ConfigureAwait(false);
            }

            if (transmission)
            {
                _endReason = NbdSessionEndReason.ConnectionLost;
                await TransmitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            if (_export is not null)
            {
                _endReason = NbdSessionEndReason.ServerStopped;
            }
        }
        catch (NbdProtocolException e)
        {
            NbdLog.ProtocolError(_logger, _info, e.Message);
            if (_export is not null)
            {
                _endReason = NbdSessionEndReason.ProtocolError;
            }
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            // The client went away or stalled in the handshake: nothing to answer.
            if (_export is null)
            {
                NbdLog.HandshakeFailed(_logger, _info, e.Message);
            }
        }
        catch (Exception e)
        {
            NbdLog.Unexpected(_logger, _info, e);
        }
        finally
        {
            await CloseAsync(Stopwatch.GetElapsedTime(started)).ConfigureAwait(false);
        }
    }

    private static bool IsConnectionFailure(Exception e) =>
        e is IOException or EndOfStreamException or OperationCanceledException or ObjectDisposedException
            or System.Net.Sockets.SocketException;

    private async ValueTask CloseAsync(TimeSpan duration)
    {
        NbdLog.Closed(_logger, _info, _endReason.ToString(), _requests);
        _input.Dispose();
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
        }

        if (_export is { } export)
        {
            _export = null;
            await EndSessionAsync(export, _endReason, duration).ConfigureAwait(false);
        }
    }

    private async ValueTask EndSessionAsync(NbdExport export, NbdSessionEndReason reason, TimeSpan duration)
    {
        export.Summary = new NbdSessionSummary(_info, export.Name, reason, _requests, _bytesRead, _bytesWritten, duration);
        try
        {
            await export.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            NbdLog.SessionEndFailed(_logger, _info, export.Name, e);
        }
    }
}
