using System.Buffers;
using System.Net;
using Streamboot.Protocols.Iscsi.Login;
using Streamboot.Protocols.Iscsi.Pdus;
using Streamboot.Protocols.Iscsi.Sessions;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>
/// The control PDUs of the full feature phase: NOP-Out (RFC 7143 11.18),
/// Text with SendTargets (11.10, appendix C), Logout (11.14) and task
/// management (11.5). Each is answered in CmdSN order unless immediate.
/// </summary>
internal sealed class ControlRequests(IscsiConnection connection)
{
    private readonly List<byte> _textPending = [];
    private byte[]? _textRest;
    private uint _textRestTag = IscsiProtocol.ReservedTag;

    public async ValueTask OnNopOutAsync(IscsiSession session, int length, CancellationToken cancellationToken)
    {
        var itt = Pdu.InitiatorTaskTag(connection.Bhs);
        var ttt = Pdu.U32(connection.Bhs, 20);
        if (itt == IscsiProtocol.ReservedTag)
        {
            // The answer to our ping (or a bare ping that wants no answer).
            await connection.SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
            connection.PingAnswered(ttt);

            return;
        }

        var data = length > 0 ? await connection.ReadPooledDataAsync(length, cancellationToken).ConfigureAwait(false) : null;
        if (length > 0 && data is null)
        {
            connection.Reject(RejectReason.DataDigestError, connection.Bhs);
            return;
        }

        var lun = Pdu.Lun(connection.Bhs);
        var ping = new NopReply(connection, itt, lun, data, length);
        if (connection.Deliver(session, ping, Pdu.U32(connection.Bhs, 24), Pdu.Immediate(connection.Bhs)) is Admission.Ignored or Admission.TooManyImmediate)
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
            connection.Outbox.Enqueue(bhs, data is null ? default : data.AsMemory(0, length), StatSequence.Advance, data);
            connection.Outbox.Flush();
        }

        public void Drop()
        {
            if (data is not null)
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }
    }

    public async ValueTask OnTextAsync(IscsiSession session, int length, CancellationToken cancellationToken)
    {
        var flags = Pdu.Flags(connection.Bhs);
        var more = (flags & 0x40) != 0;
        var itt = Pdu.InitiatorTaskTag(connection.Bhs);
        var ttt = Pdu.U32(connection.Bhs, 20);
        var header = connection.Bhs.ToArray();
        if (_textPending.Count + length > connection.Options.MaxTextLength)
        {
            await connection.SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
            _textPending.Clear();
            connection.Reject(RejectReason.ProtocolError, header);
            connection.ConsumeCmdSN(session);
            return;
        }

        var data = await connection.ReadPooledDataAsync(length, cancellationToken).ConfigureAwait(false);
        if (data is null)
        {
            connection.Reject(RejectReason.DataDigestError, header);
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
        connection.Deliver(session, work, Pdu.U32(header, 24), Pdu.Immediate(header));
    }

    private sealed class TextReply(ControlRequests control, IscsiSession session, byte[] header, byte[] keys, bool more, uint itt, uint ttt) : ISequenced
    {
        public void Deliver() => _ = control.AnswerTextAsync(session, header, keys, more, itt, ttt);
    }

    private async Task AnswerTextAsync(IscsiSession session, byte[] header, byte[] bytes, bool more, uint itt, uint ttt)
    {
        byte[] answer;
        if (ttt != IscsiProtocol.ReservedTag)
        {
            // The initiator asks for the rest of a long answer (RFC 7143 11.10.4).
            if (ttt != _textRestTag || _textRest is null)
            {
                connection.Reject(RejectReason.InvalidPduField, header);
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
                connection.Reject(RejectReason.ProtocolError, header);
                return;
            }

            var result = new TextParameters();
            if (keys[IscsiKeys.SendTargets] is { } which)
            {
                await SendTargetsAsync(session, which, result).ConfigureAwait(false);
            }

            var settled = connection.Parameters.Clone();
            ParameterNegotiation.Negotiate(keys, result, settled, connection.Options, session.Discovery, out _);
            // Only what concerns this side may change now: how much the initiator takes per PDU.
            connection.Parameters.InitiatorMaxRecvDataSegmentLength = settled.InitiatorMaxRecvDataSegmentLength;
            answer = result.ToBytes();
        }

        var limit = connection.Parameters.InitiatorMaxRecvDataSegmentLength;
        if (answer.Length > limit)
        {
            _textRestTag = connection.NewTransferTag();
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
        connection.Outbox.Enqueue(bhs, data, StatSequence.Advance);
        connection.Outbox.Flush();
    }

    /// <summary>SendTargets (RFC 7143 appendix C): every target a discovery session may see, or this session's own.</summary>
    private async Task SendTargetsAsync(IscsiSession session, string which, TextParameters result)
    {
        IReadOnlyList<string> names;
        if (session.Discovery && which == "All")
        {
            try
            {
                names = await connection.Server.Provider.ListTargetsAsync(connection.Info, connection.StoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                IscsiLog.Unexpected(connection.Logger, connection.Info, e);
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

        var address = connection.Info.LocalEndPoint is IPEndPoint local
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

    public void OnLogout(IscsiSession session)
    {
        var header = connection.Bhs.ToArray();
        connection.Deliver(session, new LogoutReply(this, session, header), Pdu.U32(header, 24), Pdu.Immediate(header));
    }

    private sealed class LogoutReply(ControlRequests control, IscsiSession session, byte[] header) : ISequenced
    {
        public void Deliver() => control.AnswerLogout(session, header);
    }

    private void AnswerLogout(IscsiSession session, byte[] header)
    {
        var reason = (LogoutReason)(header[1] & 0x7f);
        var cid = Pdu.U16(header, 20);
        var response = LogoutResponse.Closed;
        switch (reason)
        {
            case LogoutReason.CloseSession:
                connection.LoggedOut = true;
                foreach (var other in session.Connections)
                {
                    if (other != connection)
                    {
                        other.Stop();
                    }
                }

                break;
            case LogoutReason.CloseConnection when cid == connection.Cid:
                connection.LoggedOut = true;
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
        connection.Outbox.Enqueue(bhs, default, StatSequence.Advance);
        connection.Outbox.Flush();
        if (connection.LoggedOut)
        {
            IscsiLog.LoggedOut(connection.Logger, connection.Info, reason.ToString());
        }
    }

    public void OnTaskManagement(IscsiSession session)
    {
        var header = connection.Bhs.ToArray();
        connection.Deliver(session, new TaskManagementReply(this, session, header), Pdu.U32(header, 24), Pdu.Immediate(header));
    }

    private sealed class TaskManagementReply(ControlRequests control, IscsiSession session, byte[] header) : ISequenced
    {
        public void Deliver() => _ = control.AnswerTaskManagementAsync(session, header);
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
                    foreach (var other in connection.Server.Sessions.All())
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

        IscsiLog.TaskManagement(connection.Logger, connection.Info, function, affected.Count, response);
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        Pdu.Begin(bhs, IscsiOpcode.TaskManagementResponse, IscsiProtocol.FinalBit, 0);
        bhs[2] = (byte)response;
        Pdu.SetInitiatorTaskTag(bhs, Pdu.InitiatorTaskTag(header));
        connection.Outbox.Enqueue(bhs, default, StatSequence.Advance);
        connection.Outbox.Flush();
    }
}
