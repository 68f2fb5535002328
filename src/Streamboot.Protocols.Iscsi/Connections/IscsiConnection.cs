using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Iscsi.Login;
using Streamboot.Protocols.Iscsi.Pdus;
using Streamboot.Protocols.Iscsi.Sessions;
using Streamboot.Protocols.Iscsi.Targets;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>
/// One TCP connection from its first byte to its last: the login
/// (<see cref="ConnectionLogin"/>), then the full feature phase, whose
/// receive loop hands control PDUs to <see cref="ControlRequests"/>, SCSI
/// commands and their data to <see cref="CommandIntake"/>, and tasks whose
/// turn has come to <see cref="TaskRunner"/>. One asynchronous receive loop
/// per connection, no thread of its own; replies leave through the
/// <see cref="PduOutbox"/>. Owns the socket and its buffers; a protocol
/// error, a digest error or a dead peer ends the connection (at
/// ErrorRecoveryLevel 0 that is all recovery there is), never the server.
/// </summary>
internal sealed class IscsiConnection
{
    private readonly IscsiServer _server;
    private readonly Socket _socket;
    private readonly IscsiServerOptions _options;
    private readonly ILogger _logger;
    private readonly PduInput _input;
    private readonly PduOutbox _outbox;
    private readonly byte[] _bhs = new byte[IscsiProtocol.BhsLength];
    private readonly byte[] _ahs = new byte[255 * 4];
    private readonly Dictionary<uint, IscsiTask> _transfers = [];
    private readonly SemaphoreSlim _burstSlots;
    private readonly List<ISequenced> _deliver = [];
    private readonly ConnectionLogin _login;
    private readonly ControlRequests _control;
    private readonly CommandIntake _intake;
    private CancellationTokenSource? _stopping;
    private int _ahsLength;
    private uint _nextTransferTag;
    private volatile bool _fullFeature;

    // Seconds of a logout request that arrived while the login was finishing (0: none).
    private int _pendingLogoutSeconds;
    private bool _loggedOut;
    private long _lastReceived;
    private uint _pingTag = IscsiProtocol.ReservedTag;
    private long _pingSent;
    private int _closed;

    public IscsiConnection(IscsiServer server, Socket socket, IscsiConnectionInfo info)
    {
        _server = server;
        _socket = socket;
        _options = server.Options;
        _logger = server.Logger;
        Info = info;
        _input = new PduInput(socket, _options.ReceiveBufferSize);
        _outbox = new PduOutbox(socket, CurrentWindow, _options.MaxQueuedReplyBytes);
        _burstSlots = new SemaphoreSlim(_options.MaxBurstsPerConnection, _options.MaxBurstsPerConnection);
        _login = new ConnectionLogin(this);
        _control = new ControlRequests(this);
        _intake = new CommandIntake(this);
        Runner = new TaskRunner(this);
    }

    public IscsiConnectionInfo Info { get; }

    public IscsiSession? Session { get; set; }

    public ushort Cid { get; set; }

    /// <summary>The connection's own parameters: digests and both sides' data segment limits.</summary>
    public NegotiatedParameters Parameters { get; private set; } = new();

    public bool LoggedIn => _fullFeature;

    public TaskRunner Runner { get; }

    public IscsiServer Server => _server;

    public IscsiServerOptions Options => _options;

    public ILogger Logger => _logger;

    public PduOutbox Outbox => _outbox;

    /// <summary>The header of the PDU being handled (valid until the next header is read).</summary>
    public byte[] Bhs => _bhs;

    public byte[] Ahs => _ahs;

    public int AhsLength => _ahsLength;

    /// <summary>Tasks receiving solicited data, by the Target Transfer Tag of their R2T (lock it).</summary>
    public Dictionary<uint, IscsiTask> Transfers => _transfers;

    /// <summary>Bursts this connection may have outstanding: the bound on its write buffers.</summary>
    public SemaphoreSlim BurstSlots => _burstSlots;

    /// <summary>Set once the initiator logged the connection (or its session) out: the receive loop ends.</summary>
    public bool LoggedOut
    {
        get => _loggedOut;
        set => _loggedOut = value;
    }

    /// <summary>Cancelled when the connection is over.</summary>
    public CancellationToken StoppingToken
    {
        get
        {
            try
            {
                return _stopping?.Token ?? CancellationToken.None;
            }
            catch (ObjectDisposedException)
            {
                return new CancellationToken(canceled: true);
            }
        }
    }

    /// <summary>The CmdSN of the login, which the window of login responses starts from.</summary>
    public uint LoginCmdSN { get; set; }

    /// <summary>Runs the connection to its end; never throws for anything the initiator does.</summary>
    public async Task RunAsync(CancellationToken serverStopping)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(serverStopping);
        _stopping = stopping;
        var reason = "closed by the initiator";
        try
        {
            bool loggedIn;
            using (var loginTimeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token))
            {
                loginTimeout.CancelAfter(_options.LoginTimeout);
                loggedIn = await _login.RunAsync(loginTimeout.Token).ConfigureAwait(false);
            }

            _server.LoginFinished(this);
            if (loggedIn)
            {
                Volatile.Write(ref _lastReceived, Environment.TickCount64);
                if (_options.NopInterval > TimeSpan.Zero)
                {
                    _ = PingLoopAsync(stopping.Token);
                }

                await FullFeatureAsync(stopping.Token).ConfigureAwait(false);
                reason = _loggedOut ? "logged out" : reason;
            }
        }
        catch (IscsiProtocolException e)
        {
            reason = e.Message;
            IscsiLog.ProtocolError(_logger, Info, e.Message);
        }
        catch (Exception e) when (stopping.IsCancellationRequested)
        {
            reason = serverStopping.IsCancellationRequested ? "server stopping" : _pingTimedOut ? "no answer to NOP-In" : "login timed out";
            _ = e;
        }
        catch (Exception e) when (IsConnectionFailure(e))
        {
            reason = e.Message;
        }
        catch (Exception e)
        {
            reason = "internal error";
            IscsiLog.Unexpected(_logger, Info, e);
        }
        finally
        {
            _server.LoginFinished(this);
            await CloseAsync(reason).ConfigureAwait(false);
        }
    }

    private bool _pingTimedOut;

    public static bool IsConnectionFailure(Exception e) =>
        e is IOException or EndOfStreamException or OperationCanceledException or ObjectDisposedException or SocketException;

    /// <summary>Ends the connection from outside (session over, reinstated, logged out on another connection).</summary>
    public void Stop()
    {
        try
        {
            _stopping?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private async ValueTask CloseAsync(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        IscsiLog.Closed(_logger, Info, reason);
        List<IscsiTask> transfers;
        lock (_transfers)
        {
            transfers = [.. _transfers.Values];
            _transfers.Clear();
        }

        foreach (var task in transfers)
        {
            task.Abort();
        }

        if (Session is { } session)
        {
            // Tasks of this connection end with it (ErrorRecoveryLevel 0: no task reassignment).
            foreach (var task in session.Tasks())
            {
                if (task.Connection == this)
                {
                    task.Abort();
                    if (!task.Delivered)
                    {
                        session.Complete(task);
                        task.MarkFinished();
                    }
                }
            }

            if (session.Remove(this))
            {
                await _server.EndSessionAsync(session).ConfigureAwait(false);
            }
        }

        _outbox.Close();
        try
        {
            _socket.Dispose();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        _input.Dispose();
    }

    /// <summary>The login is over: the connection's own parameters apply from the next PDU on (digests too).</summary>
    public void EnterFullFeature(NegotiatedParameters settled)
    {
        Parameters = new NegotiatedParameters
        {
            HeaderDigest = settled.HeaderDigest,
            DataDigest = settled.DataDigest,
            InitiatorMaxRecvDataSegmentLength = settled.InitiatorMaxRecvDataSegmentLength,
            TargetMaxRecvDataSegmentLength = _options.MaxRecvDataSegmentLength,
        };
        _outbox.HeaderDigest = settled.HeaderDigest;
        _outbox.DataDigest = settled.DataDigest;
        _fullFeature = true;
        var seconds = Interlocked.Exchange(ref _pendingLogoutSeconds, 0);
        if (seconds > 0)
        {
            SendLogoutRequest(seconds);
        }
    }

    /// <summary>ExpCmdSN and MaxCmdSN for the PDU being sent: the session's, or the login's before there is one.</summary>
    private (uint ExpCmdSN, uint MaxCmdSN) CurrentWindow() =>
        Session is { } session ? session.Window : (LoginCmdSN, LoginCmdSN + (uint)_options.CommandWindow - 1);

    /// <summary>
    /// Reads the next PDU's header (BHS, AHS, header digest) into
    /// <see cref="_bhs"/>; false at a clean end of the stream. Queued
    /// replies are flushed only when the next header is not already here.
    /// </summary>
    public async ValueTask<bool> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        var digest = Parameters.HeaderDigest ? IscsiProtocol.DigestLength : 0;
        if (_input.Buffered < IscsiProtocol.BhsLength)
        {
            _outbox.Flush();
            if (!await _input.FillAsync(IscsiProtocol.BhsLength, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }

        var total = IscsiProtocol.BhsLength + Pdu.TotalAhsLength(_input.Span) + digest;
        if (_input.Buffered < total)
        {
            _outbox.Flush();
            if (!await _input.FillAsync(total, cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException("the connection ended inside a PDU header");
            }
        }

        var header = _input.Span[..total];
        header[..IscsiProtocol.BhsLength].CopyTo(_bhs);
        _ahsLength = total - IscsiProtocol.BhsLength - digest;
        header.Slice(IscsiProtocol.BhsLength, _ahsLength).CopyTo(_ahs);
        if (digest > 0)
        {
            var expected = Crc32C.Compute(header[..(total - digest)]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[(total - digest)..]) != expected)
            {
                // Nothing in a header that fails its digest can be trusted, not even its length:
                // at ErrorRecoveryLevel 0 the connection ends (RFC 7143 7.8).
                throw new IscsiProtocolException("header digest error");
            }
        }

        _input.Consume(total);
        Volatile.Write(ref _lastReceived, Environment.TickCount64);
        return true;
    }

    /// <summary>
    /// Reads the current PDU's data segment (padding and digest included)
    /// into <paramref name="into"/>; false when its data digest is wrong.
    /// </summary>
    public async ValueTask<bool> ReadDataAsync(Memory<byte> into, CancellationToken cancellationToken)
    {
        await _input.ReadAsync(into, cancellationToken).ConfigureAwait(false);
        var tail = Pdu.Padding(into.Length) + (Parameters.DataDigest && into.Length > 0 ? IscsiProtocol.DigestLength : 0);
        if (tail == 0)
        {
            return true;
        }

        var bytes = new byte[8];
        await _input.ReadAsync(bytes.AsMemory(0, tail), cancellationToken).ConfigureAwait(false);
        if (!Parameters.DataDigest || into.Length == 0)
        {
            return true;
        }

        var padding = Pdu.Padding(into.Length);
        var crc = Crc32C.Append(Crc32C.Seed, into.Span);
        crc = Crc32C.Append(crc, bytes.AsSpan(0, padding));
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(padding)) == Crc32C.Finish(crc);
    }

    /// <summary>Reads a data segment of <paramref name="length"/> bytes into a pooled buffer (the caller returns it); null with a digest error.</summary>
    public async ValueTask<byte[]?> ReadPooledDataAsync(int length, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        if (await ReadDataAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false))
        {
            return buffer;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return null;
    }

    /// <summary>Reads and drops the current PDU's data segment.</summary>
    public ValueTask SkipDataAsync(int length, CancellationToken cancellationToken)
    {
        var tail = Pdu.Padding(length) + (Parameters.DataDigest && length > 0 ? IscsiProtocol.DigestLength : 0);
        return _input.SkipAsync(length + tail, cancellationToken);
    }

    /// <summary>
    /// Target-initiated NOP-In (RFC 7143 11.19): a connection silent for
    /// <see cref="IscsiServerOptions.NopInterval"/> is pinged, and one that
    /// does not answer within <see cref="IscsiServerOptions.NopTimeout"/>
    /// is ended, so a machine that lost power or was reset (an iPXE SAN
    /// boot whose OS took over the NIC) does not hold its session.
    /// </summary>
    private async Task PingLoopAsync(CancellationToken cancellationToken)
    {
        var interval = _options.NopInterval;
        var step = TimeSpan.FromMilliseconds(Math.Max(100, Math.Min(interval.TotalMilliseconds, _options.NopTimeout.TotalMilliseconds) / 4));
        var bhs = new byte[IscsiProtocol.BhsLength];
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(step, cancellationToken).ConfigureAwait(false);
                var now = Environment.TickCount64;
                var tag = Volatile.Read(ref _pingTag);
                if (tag != IscsiProtocol.ReservedTag)
                {
                    if (now - Volatile.Read(ref _pingSent) > (long)_options.NopTimeout.TotalMilliseconds)
                    {
                        IscsiLog.PingTimeout(_logger, Info);
                        _pingTimedOut = true;
                        Stop();
                        return;
                    }

                    continue;
                }

                if (now - Volatile.Read(ref _lastReceived) < (long)interval.TotalMilliseconds)
                {
                    continue;
                }

                var ping = NewTransferTag();
                Volatile.Write(ref _pingSent, now);
                Volatile.Write(ref _pingTag, ping);
                Pdu.Begin(bhs, IscsiOpcode.NopIn, IscsiProtocol.FinalBit, 0);
                Pdu.SetLun(bhs, 0);
                Pdu.SetInitiatorTaskTag(bhs, IscsiProtocol.ReservedTag);
                Pdu.SetU32(bhs, 20, ping);
                _outbox.Enqueue(bhs, default, StatSequence.Peek);
                _outbox.Flush();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A NOP-Out answered a ping: if it is the one outstanding, the initiator is alive.</summary>
    public void PingAnswered(uint transferTag)
    {
        if (transferTag != IscsiProtocol.ReservedTag)
        {
            Interlocked.CompareExchange(ref _pingTag, IscsiProtocol.ReservedTag, transferTag);
        }
    }

    public uint NewTransferTag()
    {
        while (true)
        {
            var tag = Interlocked.Increment(ref _nextTransferTag);
            if (tag != IscsiProtocol.ReservedTag)
            {
                return tag;
            }
        }
    }

    /// <summary>Sends a Reject (RFC 7143 11.17) carrying the header of the PDU it rejects.</summary>
    public void Reject(RejectReason reason, ReadOnlySpan<byte> rejectedHeader, uint dataSN = 0)
    {
        IscsiLog.Rejected(_logger, Info, reason, Pdu.Opcode(rejectedHeader));
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        Pdu.Begin(bhs, IscsiOpcode.Reject, IscsiProtocol.FinalBit, IscsiProtocol.BhsLength);
        bhs[2] = (byte)reason;
        Pdu.SetInitiatorTaskTag(bhs, IscsiProtocol.ReservedTag);
        Pdu.SetU32(bhs, 36, dataSN);
        _outbox.Enqueue(bhs, rejectedHeader[..IscsiProtocol.BhsLength].ToArray(), StatSequence.Advance);
    }

    /// <summary>Asks the initiator to log out (RFC 7143 11.9.1, AsyncEvent 1): the server is stopping.</summary>
    public void RequestLogout(int seconds)
    {
        if (_loggedOut)
        {
            return;
        }

        if (!_fullFeature)
        {
            // The login response may be on its way already (the initiator
            // thinks it is logged in): the request goes out as soon as the
            // connection enters full feature, by whichever side gets here last.
            Volatile.Write(ref _pendingLogoutSeconds, Math.Max(1, seconds));
            if (!_fullFeature || (seconds = Interlocked.Exchange(ref _pendingLogoutSeconds, 0)) == 0)
            {
                return;
            }
        }

        SendLogoutRequest(seconds);
    }

    private void SendLogoutRequest(int seconds)
    {
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        Pdu.Begin(bhs, IscsiOpcode.AsyncMessage, IscsiProtocol.FinalBit, 0);
        Pdu.SetInitiatorTaskTag(bhs, IscsiProtocol.ReservedTag);
        bhs[36] = (byte)AsyncEvent.LogoutRequested;
        Pdu.SetU16(bhs, 42, (ushort)seconds); // Parameter3: seconds to log out in
        _outbox.Enqueue(bhs, default, StatSequence.Advance);
        _outbox.Flush();
    }

    private async Task FullFeatureAsync(CancellationToken cancellationToken)
    {
        var session = Session!;
        while (!_loggedOut)
        {
            if (!await ReadHeaderAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            var opcode = Pdu.Opcode(_bhs);
            var length = Pdu.DataSegmentLength(_bhs);
            if (length > Parameters.TargetMaxRecvDataSegmentLength)
            {
                // Beyond our MaxRecvDataSegmentLength (RFC 7143 13.12): a protocol error. The data is
                // read and dropped (bounded: nothing is kept), the PDU rejected, its CmdSN used up.
                await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                Reject(RejectReason.ProtocolError, _bhs);
                ConsumeCmdSN(session);
                continue;
            }

            switch (opcode)
            {
                case IscsiOpcode.ScsiCommand:
                    await _intake.OnScsiCommandAsync(session, length, cancellationToken).ConfigureAwait(false);
                    break;
                case IscsiOpcode.DataOut:
                    await _intake.OnDataOutAsync(session, length, cancellationToken).ConfigureAwait(false);
                    break;
                case IscsiOpcode.NopOut:
                    await _control.OnNopOutAsync(session, length, cancellationToken).ConfigureAwait(false);
                    break;
                case IscsiOpcode.TextRequest:
                    await _control.OnTextAsync(session, length, cancellationToken).ConfigureAwait(false);
                    break;
                case IscsiOpcode.TaskManagementRequest:
                    await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                    _control.OnTaskManagement(session);
                    break;
                case IscsiOpcode.LogoutRequest:
                    await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                    _control.OnLogout(session);
                    break;
                case IscsiOpcode.SnackRequest:
                    // ErrorRecoveryLevel 0 has no SNACK (RFC 7143 11.16).
                    await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                    Reject(RejectReason.ProtocolError, _bhs);
                    break;
                case IscsiOpcode.LoginRequest:
                    await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                    Reject(RejectReason.ProtocolError, _bhs);
                    break;
                default:
                    await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                    Reject(RejectReason.CommandNotSupported, _bhs);
                    ConsumeCmdSN(session);
                    break;
            }
        }

        // The Logout Response goes out before the close.
        await _outbox.DrainAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A rejected PDU that carried a CmdSN still uses it up, or every later command would wait for it.</summary>
    public void ConsumeCmdSN(IscsiSession session)
    {
        var opcode = Pdu.Opcode(_bhs);
        if (opcode is IscsiOpcode.DataOut or IscsiOpcode.SnackRequest || Pdu.Immediate(_bhs))
        {
            return;
        }

        Deliver(session, new NoOperation(), Pdu.U32(_bhs, 24), immediate: false);
    }

    /// <summary>Admits a sequenced PDU and delivers whatever is now in order.</summary>
    public Admission Deliver(IscsiSession session, ISequenced work, uint cmdSN, bool immediate)
    {
        _deliver.Clear();
        var admission = session.Admit(work, cmdSN, immediate, _deliver);
        if (admission == Admission.Ignored)
        {
            IscsiLog.CmdSNIgnored(_logger, Info, cmdSN, session.Window.ExpCmdSN, session.Window.MaxCmdSN);
        }

        foreach (var next in _deliver)
        {
            next.Deliver();
        }

        _deliver.Clear();
        return admission;
    }
}
