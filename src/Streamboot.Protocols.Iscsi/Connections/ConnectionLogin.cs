using System.Buffers;
using Streamboot.Protocols.Iscsi.Login;
using Streamboot.Protocols.Iscsi.Pdus;
using Streamboot.Protocols.Iscsi.Scsi;
using Streamboot.Protocols.Iscsi.Sessions;
using Streamboot.Protocols.Iscsi.Targets;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>
/// A connection's login (RFC 7143 6.3): security negotiation (None, or CHAP
/// with MD5, one-way or mutual), operational negotiation, and the move to
/// full feature phase that makes a session (a leading login) or joins one
/// (TSIH given). Every refusal is a Login Response with its status class,
/// after which the connection closes.
/// </summary>
internal sealed class ConnectionLogin(IscsiConnection connection)
{
    private readonly LoginState _login = new();

    // The target provider said no (a name, a CHAP proof, an open): it counted that refusal.
    private bool _providerRefused;

    /// <summary>Runs login PDUs until full feature phase (true) or a refusal or the end of the stream (false).</summary>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!await connection.ReadHeaderAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            var length = Pdu.DataSegmentLength(connection.Bhs);
            if (Pdu.Opcode(connection.Bhs) != IscsiOpcode.LoginRequest)
            {
                throw new IscsiProtocolException($"{Pdu.Opcode(connection.Bhs)} before the login completed");
            }

            if (length > Math.Max(8192, connection.Options.MaxRecvDataSegmentLength) || _login.Pending.Count + length > connection.Options.MaxTextLength)
            {
                await connection.SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                await RefuseLoginAsync(LoginStatus.InitiatorError, "login keys beyond the length limits", cancellationToken).ConfigureAwait(false);
                return false;
            }

            var data = await connection.ReadPooledDataAsync(length, cancellationToken).ConfigureAwait(false);
            if (data is null)
            {
                throw new IscsiProtocolException("data digest error in a Login Request");
            }

            try
            {
                for (var i = 0; i < length; i++)
                {
                    _login.Pending.Add(data[i]);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }

            LoginOutcome outcome;
            try
            {
                outcome = await HandleLoginRequestAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not (OperationCanceledException or IscsiProtocolException) && !cancellationToken.IsCancellationRequested && connection.Outbox.Failure is null)
            {
                // The provider (the database, the storage) failed: the initiator hears "target error" and may retry.
                IscsiLog.Unexpected(connection.Logger, connection.Info, e);
                await RefuseLoginAsync(LoginStatus.TargetError, "the target failed", cancellationToken).ConfigureAwait(false);
                return false;
            }

            if (outcome != LoginOutcome.Continue)
            {
                return outcome == LoginOutcome.FullFeature;
            }
        }
    }

    private enum LoginOutcome
    {
        Continue,
        FullFeature,
        Refused,
    }

    private async ValueTask<LoginOutcome> HandleLoginRequestAsync(CancellationToken cancellationToken)
    {
        var flags = Pdu.Flags(connection.Bhs);
        var transit = (flags & 0x80) != 0;
        var more = (flags & 0x40) != 0;
        var csg = (LoginStage)((flags >> 2) & 0x03);
        var nsg = (LoginStage)(flags & 0x03);
        var tsih = Pdu.U16(connection.Bhs, 14);
        var cid = Pdu.U16(connection.Bhs, 20);
        var itt = Pdu.InitiatorTaskTag(connection.Bhs);
        var isid = Convert.ToHexStringLower(connection.Bhs.AsSpan(8, 6));

        if (!_login.Started)
        {
            _login.Started = true;
            _login.Isid = isid;
            connection.Bhs.AsSpan(8, 6).CopyTo(_login.IsidBytes);
            _login.Tsih = tsih;
            _login.Cid = cid;
            _login.Itt = itt;
            _login.CmdSN = Pdu.U32(connection.Bhs, 24);
            connection.LoginCmdSN = _login.CmdSN;
            _login.Stage = csg;
            connection.Outbox.StartStatSN(Pdu.U32(connection.Bhs, 28));
            if (connection.Bhs[3] > IscsiProtocol.VersionMax || connection.Bhs[2] < IscsiProtocol.VersionMin)
            {
                return await RefuseLoginAsync(LoginStatus.UnsupportedVersion, "unsupported iSCSI version", cancellationToken).ConfigureAwait(false);
            }
        }
        else if (isid != _login.Isid || tsih != _login.Tsih || cid != _login.Cid)
        {
            return await RefuseLoginAsync(LoginStatus.InitiatorError, "ISID, TSIH or CID changed during the login", cancellationToken).ConfigureAwait(false);
        }

        if ((transit && more) || csg != _login.Stage || csg is not (LoginStage.SecurityNegotiation or LoginStage.OperationalNegotiation)
            || (transit && (nsg <= csg || (int)nsg == 2)))
        {
            return await RefuseLoginAsync(LoginStatus.InitiatorError, $"stages out of order (CSG {(int)csg}, NSG {(int)nsg}, T {transit}, C {more})", cancellationToken).ConfigureAwait(false);
        }

        if (more)
        {
            // More keys follow in the next PDU: an empty response asks for them (RFC 7143 6.7).
            SendLoginResponse(false, csg, csg, [], LoginStatus.Success);
            return LoginOutcome.Continue;
        }

        var bytes = _login.Pending.ToArray();
        _login.Pending.Clear();
        if (!TextParameters.TryParse(bytes, out var keys, out var error))
        {
            return await RefuseLoginAsync(LoginStatus.InitiatorError, error!, cancellationToken).ConfigureAwait(false);
        }

        var answer = new TextParameters();
        if (!_login.Started || _login.InitiatorName is null)
        {
            var first = await FirstLoginKeysAsync(keys, answer, cancellationToken).ConfigureAwait(false);
            if (first != LoginStatus.Success)
            {
                return await RefuseLoginAsync(first, "the first login request was refused", cancellationToken).ConfigureAwait(false);
            }
        }

        if (csg == LoginStage.SecurityNegotiation)
        {
            var security = await SecurityAsync(keys, answer, cancellationToken).ConfigureAwait(false);
            if (security != LoginStatus.Success)
            {
                return await RefuseLoginAsync(security, "authentication failed", cancellationToken).ConfigureAwait(false);
            }
        }
        else if (_login.Authentication != AuthenticationStep.Done)
        {
            // Straight to operational negotiation: only where no authentication is needed.
            if (NeedsChap)
            {
                return await RefuseLoginAsync(LoginStatus.AuthenticationFailure, "this target needs CHAP", cancellationToken).ConfigureAwait(false);
            }

            _login.Authentication = AuthenticationStep.Done;
        }

        if (!ParameterNegotiation.Negotiate(keys, answer, _login.Parameters, connection.Options, _login.Discovery, out error))
        {
            return await RefuseLoginAsync(LoginStatus.InitiatorError, error!, cancellationToken).ConfigureAwait(false);
        }

        if (csg == LoginStage.OperationalNegotiation && !_login.DeclaredMaxRecvDataSegmentLength)
        {
            _login.DeclaredMaxRecvDataSegmentLength = true;
            answer.Add(IscsiKeys.MaxRecvDataSegmentLength, connection.Options.MaxRecvDataSegmentLength);
        }

        var canTransit = transit && _login.Authentication == AuthenticationStep.Done;
        var next = canTransit ? nsg : csg;
        if (canTransit && nsg == LoginStage.FullFeature)
        {
            if (!_login.DeclaredMaxRecvDataSegmentLength)
            {
                _login.DeclaredMaxRecvDataSegmentLength = true;
                answer.Add(IscsiKeys.MaxRecvDataSegmentLength, connection.Options.MaxRecvDataSegmentLength);
            }

            var status = await EnterFullFeatureAsync(cancellationToken).ConfigureAwait(false);
            if (status != LoginStatus.Success)
            {
                return await RefuseLoginAsync(status, "the session could not be made", cancellationToken).ConfigureAwait(false);
            }

            SendLoginResponse(true, csg, next, answer.ToBytes(), LoginStatus.Success);
            connection.Outbox.Flush();
            connection.EnterFullFeature(_login.Parameters);
            IscsiLog.LoggedIn(connection.Logger, connection.Info, TextParameters.Safe(_login.InitiatorName), TextParameters.Safe(_login.TargetName ?? "(discovery)"), connection.Session!.Tsih, connection.Cid);
            return LoginOutcome.FullFeature;
        }

        SendLoginResponse(canTransit, csg, next, answer.ToBytes(), LoginStatus.Success);
        if (canTransit)
        {
            _login.Stage = nsg;
        }

        return LoginOutcome.Continue;
    }

    private bool NeedsChap => !_login.Discovery && _login.Lookup == IscsiTargetLookup.ChapRequired;

    /// <summary>The declarations of the first request (RFC 7143 6.3.1): who the initiator is, which session type, which target.</summary>
    private async ValueTask<LoginStatus> FirstLoginKeysAsync(TextParameters keys, TextParameters answer, CancellationToken cancellationToken)
    {
        var initiator = keys[IscsiKeys.InitiatorName];
        if (string.IsNullOrWhiteSpace(initiator) || initiator.Length > 223)
        {
            return LoginStatus.MissingParameter;
        }

        _login.InitiatorName = initiator;
        var type = keys[IscsiKeys.SessionType] ?? IscsiKeys.Normal;
        if (type is not (IscsiKeys.Normal or IscsiKeys.Discovery))
        {
            return LoginStatus.SessionTypeNotSupported;
        }

        _login.Discovery = type == IscsiKeys.Discovery;
        if (_login.Discovery)
        {
            _login.Lookup = IscsiTargetLookup.Anonymous;
            return _login.Tsih == 0 ? LoginStatus.Success : LoginStatus.SessionDoesNotExist;
        }

        var target = keys[IscsiKeys.TargetName];
        if (string.IsNullOrWhiteSpace(target) || target.Length > 223)
        {
            return LoginStatus.MissingParameter;
        }

        _login.TargetName = target;
        _login.Lookup = await connection.Server.Provider.FindAsync(target, connection.Info, cancellationToken).ConfigureAwait(false);
        if (_login.Lookup is IscsiTargetLookup.NotFound or IscsiTargetLookup.Refused)
        {
            IscsiLog.TargetRefused(connection.Logger, connection.Info, TextParameters.Safe(target), _login.Lookup.ToString());
            _providerRefused = true;
            return IscsiErrors.LoginStatusOf(_login.Lookup);
        }

        if (_login.Tsih != 0)
        {
            var session = connection.Server.Sessions.Find(_login.Tsih);
            if (session is null || session.Discovery || session.Isid != _login.Isid
                || !string.Equals(session.InitiatorName, initiator, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(session.TargetName, target, StringComparison.OrdinalIgnoreCase))
            {
                return LoginStatus.SessionDoesNotExist;
            }

            // A connection joining a session takes its session-wide values.
            _login.Parameters = session.Parameters.Clone();
        }

        answer.Add(IscsiKeys.TargetPortalGroupTag, IscsiProtocol.PortalGroupTag);
        _login.SentPortalGroupTag = true;
        return LoginStatus.Success;
    }

    /// <summary>Security negotiation: AuthMethod, then CHAP_A, then the CHAP response (RFC 7143 12.1.3).</summary>
    private async ValueTask<LoginStatus> SecurityAsync(TextParameters keys, TextParameters answer, CancellationToken cancellationToken)
    {
        if (keys[IscsiKeys.AuthMethod] is { } methods)
        {
            if (_login.Authentication != AuthenticationStep.NotStarted)
            {
                return LoginStatus.InitiatorError;
            }

            var offered = methods.Split(',');
            var choice = NeedsChap
                ? offered.Contains(IscsiKeys.Chap) ? IscsiKeys.Chap : null
                : offered.Contains(IscsiKeys.None) ? IscsiKeys.None : null;
            if (choice is null)
            {
                return LoginStatus.AuthenticationFailure;
            }

            answer.Add(IscsiKeys.AuthMethod, choice);
            _login.Authentication = choice == IscsiKeys.Chap ? AuthenticationStep.ChapChosen : AuthenticationStep.Done;
            return LoginStatus.Success;
        }

        switch (_login.Authentication)
        {
            case AuthenticationStep.NotStarted:
                // No AuthMethod offered: None, which only an open target takes.
                if (NeedsChap)
                {
                    return LoginStatus.AuthenticationFailure;
                }

                _login.Authentication = AuthenticationStep.Done;
                return LoginStatus.Success;

            case AuthenticationStep.ChapChosen:
                if (keys[IscsiKeys.ChapAlgorithm] is not { } algorithms)
                {
                    return LoginStatus.InitiatorError;
                }

                if (!algorithms.Split(',').Contains(IscsiKeys.ChapMd5))
                {
                    answer.Add(IscsiKeys.ChapAlgorithm, IscsiKeys.Reject);
                    return LoginStatus.AuthenticationFailure;
                }

                _login.ChapIdentifier = Chap.NewIdentifier();
                _login.ChapChallenge = Chap.NewChallenge();
                answer.Add(IscsiKeys.ChapAlgorithm, IscsiKeys.ChapMd5);
                answer.Add(IscsiKeys.ChapIdentifier, _login.ChapIdentifier);
                answer.Add(IscsiKeys.ChapChallenge, Chap.Format(_login.ChapChallenge));
                _login.Authentication = AuthenticationStep.ChallengeSent;
                return LoginStatus.Success;

            case AuthenticationStep.ChallengeSent:
                return await ChapResponseAsync(keys, answer, cancellationToken).ConfigureAwait(false);

            default:
                return keys.Contains(IscsiKeys.ChapResponse) ? LoginStatus.InitiatorError : LoginStatus.Success;
        }
    }

    private async ValueTask<LoginStatus> ChapResponseAsync(TextParameters keys, TextParameters answer, CancellationToken cancellationToken)
    {
        var name = keys[IscsiKeys.ChapName];
        if (name is null || name.Length > 255 || !Chap.TryParseBinary(keys[IscsiKeys.ChapResponse], out var response))
        {
            return LoginStatus.AuthenticationFailure;
        }

        var proof = new IscsiChapProof(name, _login.ChapIdentifier, _login.ChapChallenge, response);
        var grant = await connection.Server.Provider.ProveAsync(_login.TargetName!, proof, connection.Info, cancellationToken).ConfigureAwait(false);
        // A challenge is answered once: a second try needs a new login.
        _login.ChapChallenge = [];
        if (grant is null)
        {
            IscsiLog.ChapFailed(connection.Logger, connection.Info, TextParameters.Safe(_login.TargetName), TextParameters.Safe(name));
            _providerRefused = true;
            return LoginStatus.AuthenticationFailure;
        }

        if (_login.Tsih != 0 && connection.Server.Sessions.Find(_login.Tsih)?.Grant?.Identity != grant.Identity)
        {
            return LoginStatus.AuthenticationFailure;
        }

        if (keys[IscsiKeys.ChapIdentifier] is { } mutualId)
        {
            // Mutual CHAP: the target proves itself with a secret of its own (RFC 7143 12.1.3),
            // never to a challenge it sent itself (a reflection).
            if (!TextParameters.TryParseNumber(mutualId, out var identifier) || identifier > 255
                || !Chap.TryParseBinary(keys[IscsiKeys.ChapChallenge], out var challenge) || challenge.Length == 0
                || grant.TargetSecret is null || challenge.AsSpan().SequenceEqual(_login.ChapChallenge))
            {
                return LoginStatus.AuthenticationFailure;
            }

            answer.Add(IscsiKeys.ChapName, _login.TargetName!);
            answer.Add(IscsiKeys.ChapResponse, Chap.Format(Chap.Response((byte)identifier, grant.TargetSecret, challenge)));
        }
        else if (keys.Contains(IscsiKeys.ChapChallenge))
        {
            return LoginStatus.AuthenticationFailure;
        }

        _login.Grant = grant;
        _login.Authentication = AuthenticationStep.Done;
        return LoginStatus.Success;
    }

    /// <summary>The last step of a login: make the session (leading login) or join it.</summary>
    private async ValueTask<LoginStatus> EnterFullFeatureAsync(CancellationToken cancellationToken)
    {
        connection.Cid = _login.Cid;
        if (_login.Tsih != 0)
        {
            var joined = connection.Server.Sessions.Find(_login.Tsih);
            if (joined is null || joined.Ended)
            {
                return LoginStatus.SessionDoesNotExist;
            }

            connection.Session = joined;
            if (!joined.TryAdd(connection, out var replaced))
            {
                connection.Session = null;
                return LoginStatus.TooManyConnections;
            }

            replaced?.Stop();
            return LoginStatus.Success;
        }

        var tsih = connection.Server.Sessions.NewTsih();
        if (tsih == 0)
        {
            return LoginStatus.OutOfResources;
        }

        var session = new IscsiSession(tsih, _login.Isid, _login.InitiatorName!, _login.TargetName, _login.Discovery, _login.Parameters.Clone(), connection.Options, _login.CmdSN)
        {
            Grant = _login.Grant,
        };
        if (!_login.Discovery)
        {
            // connection.Session reinstatement (RFC 7143 6.3.5): the same initiator port logging in again replaces its old session.
            if (connection.Server.Sessions.FindByPort(session.InitiatorName, session.Isid, session.TargetName) is { } old)
            {
                await connection.Server.CloseSessionAsync(old, "reinstated by a new login").ConfigureAwait(false);
            }

            var opened = await connection.Server.Provider.OpenAsync(_login.TargetName!, _login.Grant, connection.Info, cancellationToken).ConfigureAwait(false);
            if (!opened.Ok)
            {
                IscsiLog.TargetRefused(connection.Logger, connection.Info, TextParameters.Safe(_login.TargetName), opened.Message ?? opened.Error.ToString());
                _providerRefused = true;
                return IscsiErrors.LoginStatusOf(opened.Error);
            }

            var unit = connection.Server.Sessions.AcquireUnit(_login.TargetName!);
            session.Unit = new ScsiLogicalUnit(opened.Device!, opened.ReadOnly, unit, connection.Options.MaxTransferLength);
            session.UnitState = unit;
        }

        session.TryAdd(connection, out _);
        connection.Session = session;
        connection.Server.Sessions.Add(session);
        return LoginStatus.Success;
    }

    private void SendLoginResponse(bool transit, LoginStage current, LoginStage next, byte[] data, LoginStatus status)
    {
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        var flags = (byte)(((int)current << 2) | (transit ? 0x80 | (int)next : 0));
        Pdu.Begin(bhs, IscsiOpcode.LoginResponse, flags, data.Length);
        bhs[2] = IscsiProtocol.VersionMax;
        bhs[3] = IscsiProtocol.VersionMin;
        _login.IsidBytes.CopyTo(bhs[8..]);
        Pdu.SetU16(bhs, 14, status == LoginStatus.Success && connection.Session is { } session ? session.Tsih : (ushort)0);
        Pdu.SetInitiatorTaskTag(bhs, _login.Itt);
        bhs[36] = (byte)((ushort)status >> 8);
        bhs[37] = (byte)status;
        connection.Outbox.Enqueue(bhs, data, StatSequence.Advance);
    }

    /// <summary>A Login Response with a failure status; the connection then closes (RFC 7143 6.3.6).</summary>
    private async ValueTask<LoginOutcome> RefuseLoginAsync(LoginStatus status, string reason, CancellationToken cancellationToken)
    {
        IscsiLog.LoginRefused(connection.Logger, connection.Info, status, reason);
        if (!_providerRefused)
        {
            // What the target provider refuses (a name, a key, a view) it counts itself, once.
            StreambootMetrics.Refused(StreambootMetrics.Iscsi, MetricLabel.Of(status));
        }

        if (status == LoginStatus.AuthenticationFailure && connection.Options.FailedLoginDelay > TimeSpan.Zero)
        {
            // Guessing secrets is slow: the connection, still counted as logging in, waits.
            await Task.Delay(connection.Options.FailedLoginDelay, cancellationToken).ConfigureAwait(false);
        }

        SendLoginResponse(false, _login.Stage, _login.Stage, [], status);
        await connection.Outbox.DrainAsync(cancellationToken).ConfigureAwait(false);
        return LoginOutcome.Refused;
    }
}
