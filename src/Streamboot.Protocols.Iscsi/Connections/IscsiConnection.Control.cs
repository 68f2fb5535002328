using System.Buffers;
using System.Net;
using Streamboot.Protocols.Iscsi.Login;
using Streamboot.Protocols.Iscsi.Pdus;
using Streamboot.Protocols.Iscsi.Sessions;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>
/// The full feature phase's receive loop and its control PDUs: NOP-Out
/// (11.18), Text (11.10, SendTargets), Logout (11.14), Task Management
/// (11.5) and SNACK (11.16, not at ErrorRecoveryLevel 0).
/// </summary>
internal sealed partial class IscsiConnection
{
    private readonly List<byte> _textPending = [];
    private byte[]? _textRest;
    private uint _textRestTag = IscsiProtocol.ReservedTag;

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
                    await OnScsiCommandAsync(session, length, cancellationToken).ConfigureAwait(false);
                    break;
                case IscsiOpcode.DataOut:
                    await OnDataOutAsync(session, length, cancellationToken).ConfigureAwait(false);
                    break;
                case IscsiOpcode.NopOut:
                    await OnNopOutAsync(session, length, cancellationToken).ConfigureAwait(false);
                    break;
                case IscsiOpcode.TextRequest:
                    await OnTextAsync(session, length, cancellationToken).ConfigureAwait(false);
                    break;
                case IscsiOpcode.TaskManagementRequest:
                    await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                    OnTaskManagement(session);
                    break;
                case IscsiOpcode.LogoutRequest:
                    await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
                    OnLogout(session);
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
    private void ConsumeCmdSN(IscsiSession session)
    {
        var opcode = Pdu.Opcode(_bhs);
        if (opcode is IscsiOpcode.DataOut or IscsiOpcode.SnackRequest || Pdu.Immediate(_bhs))
        {
            return;
        }

        Deliver(session, new Ignored(), Pdu.U32(_bhs, 24), immediate: false);
    }

    /// <summary>Admits a sequenced PDU and delivers whatever is now in order.</summary>
    private Admission Deliver(IscsiSession session, ISequenced work, uint cmdSN, bool immediate)
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

    private async ValueTask OnNopOutAsync(IscsiSession session, int length, CancellationToken cancellationToken)
    {
        var itt = Pdu.InitiatorTaskTag(_bhs);
        var ttt = Pdu.U32(_bhs, 20);
        if (itt == IscsiProtocol.ReservedTag)
        {
            // The answer to our ping (or a bare ping that wants no answer).
            await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
            if (ttt != IscsiProtocol.ReservedTag && ttt == Volatile.Read(ref _pingTag))
            {
                Volatile.Write(ref _pingTag, IscsiProtocol.ReservedTag);
            }

            return;
        }

        var data = length > 0 ? await ReadPooledDataAsync(length, cancellationToken).ConfigureAwait(false) : null;
        if (length > 0 && data is null)
        {
            Reject(RejectReason.DataDigestError, _bhs);
            return;
        }

        var lun = Pdu.Lun(_bhs);
        var ping = new NopReply(this, itt, lun, data, length);
        if (Deliver(session, ping, Pdu.U32(_bhs, 24), Pdu.Immediate(_bhs)) is Admission.Ignored or Admission.TooManyImmediate)
        {
            ping.Drop();
        }
    }

    private sealed class NopReply(IscsiConnection connection, uint itt, ulong lun, byte[]? data, int length) : ISequenced
    {
        public void Deliver()
        {
            Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
            Pdu.Begin(bhs, IscsiOpcode.NopIn, IscsiProtocol.FinalBit, length);
            Pdu.SetLun(bhs, lun);
            Pdu.SetInitiatorTaskTag(bhs, itt);
            Pdu.SetU32(bhs, 20, IscsiProtocol.ReservedTag);
            connection._outbox.Enqueue(bhs, data is null ? default : data.AsMemory(0, length), StatSequence.Advance, data);
            connection._outbox.Flush();
        }

        public void Drop()
        {
            if (data is not null)
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }
    }

    private sealed class Ignored : ISequenced
    {
        public void Deliver()
        {
        }
    }

    private async ValueTask OnTextAsync(IscsiSession session, int length, CancellationToken cancellationToken)
    {
        var flags = Pdu.Flags(_bhs);
        var more = (flags & 0x40) != 0;
        var itt = Pdu.InitiatorTaskTag(_bhs);
        var ttt = Pdu.U32(_bhs, 20);
        var header = _bhs.ToArray();
        if (_textPending.Count + length > _options.MaxTextLength)
        {
            await SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
            _textPending.Clear();
            Reject(RejectReason.ProtocolError, header);
            ConsumeCmdSN(session);
            return;
        }

        var data = await ReadPooledDataAsync(length, cancellationToken).ConfigureAwait(false);
        if (data is null)
        {
            Reject(RejectReason.DataDigestError, header);
            return;
        }

        for (var i = 0; i < length; i++)
        {
            _textPending.Add(data[i]);
        }

        ArrayPool<byte>.Shared.Return(data);
        byte[] keys = [];
        if (!more)
        {
            keys = [.. _textPending];
            _textPending.Clear();
        }

        var work = new TextReply(this, session, header, keys, more, itt, ttt);
        Deliver(session, work, Pdu.U32(header, 24), Pdu.Immediate(header));
    }

    private sealed class TextReply(IscsiConnection connection, IscsiSession session, byte[] header, byte[] keys, bool more, uint itt, uint ttt) : ISequenced
    {
        public void Deliver() => _ = connection.AnswerTextAsync(session, header, keys, more, itt, ttt);
    }

    private async Task AnswerTextAsync(IscsiSession session, byte[] header, byte[] bytes, bool more, uint itt, uint ttt)
    {
        byte[] answer;
        if (ttt != IscsiProtocol.ReservedTag)
        {
            // The initiator asks for the rest of a long answer (RFC 7143 11.10.4).
            if (ttt != _textRestTag || _textRest is null)
            {
                Reject(RejectReason.InvalidPduField, header);
                return;
            }

            answer = _textRest;
            _textRest = null;
        }
        else if (more)
        {
            SendText(itt, IscsiProtocol.ReservedTag, [], final: false, more: false);
            return;
        }
        else
        {
            if (!TextParameters.TryParse(bytes, out var keys, out _))
            {
                Reject(RejectReason.ProtocolError, header);
                return;
            }

            var result = new TextParameters();
            if (keys[IscsiKeys.SendTargets] is { } which)
            {
                await SendTargetsAsync(session, which, result).ConfigureAwait(false);
            }

            var settled = Parameters.Clone();
            ParameterNegotiation.Negotiate(keys, result, settled, _options, session.Discovery, out _);
            // Only what concerns this side may change now: how much the initiator takes per PDU.
            Parameters.InitiatorMaxRecvDataSegmentLength = settled.InitiatorMaxRecvDataSegmentLength;
            answer = result.ToBytes();
        }

        var limit = Parameters.InitiatorMaxRecvDataSegmentLength;
        if (answer.Length > limit)
        {
            _textRestTag = NewTransferTag();
            _textRest = answer[limit..];
            SendText(itt, _textRestTag, answer[..limit], final: false, more: true);
            return;
        }

        SendText(itt, IscsiProtocol.ReservedTag, answer, final: true, more: false);
    }

    private void SendText(uint itt, uint ttt, byte[] data, bool final, bool more)
    {
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        Pdu.Begin(bhs, IscsiOpcode.TextResponse, (byte)((final ? 0x80 : 0) | (more ? 0x40 : 0)), data.Length);
        Pdu.SetInitiatorTaskTag(bhs, itt);
        Pdu.SetU32(bhs, 20, ttt);
        _outbox.Enqueue(bhs, data, StatSequence.Advance);
        _outbox.Flush();
    }

    /// <summary>SendTargets (RFC 7143 appendix C): every target a discovery session may see, or this session's own.</summary>
    private async Task SendTargetsAsync(IscsiSession session, string which, TextParameters result)
    {
        IReadOnlyList<string> names;
        if (session.Discovery && which == "All")
        {
            try
            {
                names = await _server.Provider.ListTargetsAsync(Info, _stopping?.Token ?? CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                IscsiLog.Unexpected(_logger, Info, e);
                names = [];
            }
        }
        else if (!session.Discovery && (which.Length == 0 || string.Equals(which, session.TargetName, StringComparison.OrdinalIgnoreCase)))
        {
            names = [session.TargetName!];
        }
        else
        {
            names = [];
        }

        var address = Info.LocalEndPoint is IPEndPoint local
            ? (local.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !local.Address.IsIPv4MappedToIPv6 ? $"[{local.Address}]" : (local.Address.IsIPv4MappedToIPv6 ? local.Address.MapToIPv4() : local.Address).ToString()) + ":" + local.Port
            : null;
        foreach (var name in names)
        {
            result.Add(IscsiKeys.TargetName, name);
            if (address is not null)
            {
                result.Add(IscsiKeys.TargetAddress, $"{address},{IscsiProtocol.PortalGroupTag}");
            }
        }
    }

    private void OnLogout(IscsiSession session)
    {
        var header = _bhs.ToArray();
        Deliver(session, new LogoutReply(this, session, header), Pdu.U32(header, 24), Pdu.Immediate(header));
    }

    private sealed class LogoutReply(IscsiConnection connection, IscsiSession session, byte[] header) : ISequenced
    {
        public void Deliver() => connection.AnswerLogout(session, header);
    }

    private void AnswerLogout(IscsiSession session, byte[] header)
    {
        var reason = (LogoutReason)(header[1] & 0x7f);
        var cid = Pdu.U16(header, 20);
        var response = LogoutResponse.Closed;
        switch (reason)
        {
            case LogoutReason.CloseSession:
                _loggedOut = true;
                foreach (var other in session.Connections)
                {
                    if (other != this)
                    {
                        other.Stop();
                    }
                }

                break;
            case LogoutReason.CloseConnection when cid == Cid:
                _loggedOut = true;
                break;
            case LogoutReason.CloseConnection:
                var target = session.Connections.FirstOrDefault(c => c.Cid == cid);
                if (target is null)
                {
                    response = LogoutResponse.CidNotFound;
                }
                else
                {
                    target.Stop();
                }

                break;
            default:
                response = LogoutResponse.RecoveryNotSupported;
                break;
        }

        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        Pdu.Begin(bhs, IscsiOpcode.LogoutResponse, IscsiProtocol.FinalBit, 0);
        bhs[2] = (byte)response;
        Pdu.SetInitiatorTaskTag(bhs, Pdu.InitiatorTaskTag(header));
        _outbox.Enqueue(bhs, default, StatSequence.Advance);
        _outbox.Flush();
        if (_loggedOut)
        {
            IscsiLog.LoggedOut(_logger, Info, reason.ToString());
        }
    }

    private void OnTaskManagement(IscsiSession session)
    {
        var header = _bhs.ToArray();
        Deliver(session, new TaskManagementReply(this, session, header), Pdu.U32(header, 24), Pdu.Immediate(header));
    }

    private sealed class TaskManagementReply(IscsiConnection connection, IscsiSession session, byte[] header) : ISequenced
    {
        public void Deliver() => _ = connection.AnswerTaskManagementAsync(session, header);
    }

    /// <summary>
    /// Task management (RFC 7143 11.5, SAM-5 7): the affected tasks are
    /// aborted (no response of theirs is sent) and the answer goes out once
    /// each of them is over, so a tag the initiator reuses is really free.
    /// </summary>
    private async Task AnswerTaskManagementAsync(IscsiSession session, byte[] header)
    {
        var function = (TaskManagementFunction)(header[1] & 0x7f);
        var lun = Pdu.Lun(header);
        var response = TaskManagementResponse.FunctionComplete;
        var affected = new List<IscsiTask>();
        var lunExists = Pdu.LunNumber(lun) == 0;
        if (session.Discovery)
        {
            response = TaskManagementResponse.FunctionNotSupported;
        }
        else
        {
            switch (function)
            {
                case TaskManagementFunction.AbortTask:
                    var task = session.FindTask(Pdu.U32(header, 20));
                    if (task is null || task.Lun != lun)
                    {
                        response = TaskManagementResponse.TaskDoesNotExist;
                    }
                    else
                    {
                        affected.Add(task);
                    }

                    break;
                case TaskManagementFunction.AbortTaskSet:
                case TaskManagementFunction.ClearTaskSet:
                    if (!lunExists)
                    {
                        response = TaskManagementResponse.LunDoesNotExist;
                        break;
                    }

                    affected.AddRange(session.Tasks());
                    break;
                case TaskManagementFunction.LogicalUnitReset:
                case TaskManagementFunction.TargetWarmReset:
                    if (function == TaskManagementFunction.LogicalUnitReset && !lunExists)
                    {
                        response = TaskManagementResponse.LunDoesNotExist;
                        break;
                    }

                    // Every session of the target: its one logical unit is reset.
                    foreach (var other in _server.Sessions.All())
                    {
                        if (!other.Discovery && string.Equals(other.TargetName, session.TargetName, StringComparison.OrdinalIgnoreCase))
                        {
                            affected.AddRange(other.Tasks());
                            other.Unit?.NexusLost(other.Nexus);
                        }
                    }

                    break;
                case TaskManagementFunction.TaskReassign:
                    response = TaskManagementResponse.TaskReassignmentNotSupported;
                    break;
                case TaskManagementFunction.ClearAca:
                case TaskManagementFunction.TargetColdReset:
                    response = TaskManagementResponse.FunctionNotSupported;
                    break;
                default:
                    response = TaskManagementResponse.FunctionRejected;
                    break;
            }
        }

        affected.RemoveAll(t => t.Itt == Pdu.InitiatorTaskTag(header));
        foreach (var task in affected)
        {
            task.Abort();
        }

        try
        {
            await Task.WhenAll(affected.Select(t => t.WhenFinishedAsync())).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            response = TaskManagementResponse.FunctionRejected;
        }

        IscsiLog.TaskManagement(_logger, Info, function, affected.Count, response);
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        Pdu.Begin(bhs, IscsiOpcode.TaskManagementResponse, IscsiProtocol.FinalBit, 0);
        bhs[2] = (byte)response;
        Pdu.SetInitiatorTaskTag(bhs, Pdu.InitiatorTaskTag(header));
        _outbox.Enqueue(bhs, default, StatSequence.Advance);
        _outbox.Flush();
    }
}
