using System.Buffers;
using Streamboot.Protocols.Iscsi.Pdus;
using Streamboot.Protocols.Iscsi.Scsi;
using Streamboot.Protocols.Iscsi.Sessions;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>
/// The receiving side of SCSI commands (RFC 7143 11.3, 11.7): a Command PDU
/// and its immediate data become a task, admitted in CmdSN order; a Data-Out
/// lands in the burst its task is receiving, checked for order, offset and
/// length first, straight from the socket into the burst's buffer.
/// </summary>
internal sealed class CommandIntake(IscsiConnection connection)
{
    public async ValueTask OnScsiCommandAsync(IscsiSession session, int length, CancellationToken cancellationToken)
    {
        var immediate = Pdu.Immediate(connection.Bhs);
        var flags = Pdu.Flags(connection.Bhs);
        var read = (flags & (byte)ScsiCommandFlags.Read) != 0;
        var write = (flags & (byte)ScsiCommandFlags.Write) != 0;
        var expected = Pdu.U32(connection.Bhs, 20);
        var cmdSN = Pdu.U32(connection.Bhs, 24);
        if (session.Discovery || session.Unit is null || !ExtendedCdb(out var cdb))
        {
            // No SCSI in a discovery session (RFC 7143 4.3), and an extended CDB must be well formed.
            await connection.SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
            connection.Reject(session.Discovery ? RejectReason.ProtocolError : RejectReason.InvalidPduField, connection.Bhs);
            connection.ConsumeCmdSN(session);
            return;
        }

        var settled = session.Parameters;
        var unsolicited = !write ? 0 : settled.InitialR2T ? length : (int)Math.Min(expected, (uint)settled.FirstBurstLength);
        if (length > 0 && (!write || !settled.ImmediateData || length > unsolicited || length > settled.FirstBurstLength))
        {
            // Immediate data that was not agreed, or more than the first burst: a protocol error.
            await connection.SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
            connection.Reject(RejectReason.ProtocolError, connection.Bhs);
            connection.ConsumeCmdSN(session);
            return;
        }

        var task = new IscsiTask(connection, Pdu.InitiatorTaskTag(connection.Bhs), Pdu.Lun(connection.Bhs), cmdSN, immediate, expected, read, write, cdb)
        {
            UnsolicitedLength = unsolicited,
        };
        StreambootMetrics.IscsiTraffic.Request();
        if (unsolicited > 0)
        {
            task.Buffer = ArrayPool<byte>.Shared.Rent(unsolicited);
            task.BurstLength = unsolicited;
            if (length > 0 && !await connection.ReadDataAsync(task.Buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false))
            {
                task.ReturnBuffer();
                connection.Reject(RejectReason.DataDigestError, connection.Bhs);
                connection.ConsumeCmdSN(session);
                return;
            }

            task.BurstReceived = length;
            StreambootMetrics.IscsiTraffic.Written(length);
        }

        var admission = connection.Deliver(session, task, cmdSN, immediate);
        if (admission is Admission.Ignored or Admission.TooManyImmediate)
        {
            task.ReturnBuffer();
            if (admission == Admission.TooManyImmediate)
            {
                connection.Reject(RejectReason.ImmediateCommandReject, connection.Bhs);
            }
        }
    }

    /// <summary>The CDB: the 16 bytes of the BHS, extended by an Extended CDB AHS (RFC 7143 11.3.5, type 1) when there is one.</summary>
    private bool ExtendedCdb(out byte[] cdb)
    {
        if (connection.AhsLength == 0)
        {
            cdb = connection.Bhs.AsSpan(32, 16).ToArray();
            return true;
        }

        cdb = [];
        var ahs = connection.Ahs.AsSpan(0, connection.AhsLength);
        while (ahs.Length >= 4)
        {
            var length = (ahs[0] << 8) | ahs[1];
            var size = (3 + length + 3) & ~3;
            if (size > ahs.Length)
            {
                return false;
            }

            if (ahs[2] == 1 && length > 1)
            {
                cdb = [.. connection.Bhs.AsSpan(32, 16), .. ahs.Slice(4, length - 1)];
            }

            ahs = ahs[size..];
        }

        if (cdb.Length == 0)
        {
            cdb = connection.Bhs.AsSpan(32, 16).ToArray();
        }

        return true;
    }

    /// <summary>Data-Out (RFC 7143 11.7): lands in the burst its task is receiving, checked for order, offset and length first.</summary>
    public async ValueTask OnDataOutAsync(IscsiSession session, int length, CancellationToken cancellationToken)
    {
        var itt = Pdu.InitiatorTaskTag(connection.Bhs);
        var ttt = Pdu.U32(connection.Bhs, 20);
        var dataSN = Pdu.U32(connection.Bhs, 36);
        var offset = Pdu.U32(connection.Bhs, 40);
        var final = Pdu.Final(connection.Bhs);
        IscsiTask? task;
        if (ttt == IscsiProtocol.ReservedTag)
        {
            task = session.FindTask(itt);
        }
        else
        {
            lock (connection.Transfers)
            {
                task = connection.Transfers.GetValueOrDefault(ttt);
            }
        }

        if (task is null || task.Connection != connection || task.Itt != itt)
        {
            // Data for a task that ended (aborted, or answered early): dropped.
            await connection.SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
            return;
        }

        Memory<byte> into;
        lock (task)
        {
            SenseData? failure = null;
            if (task.Aborted || task.DataOutFailure is not null || task.Buffer is null)
            {
                into = default;
            }
            else if (ttt != task.TransferTag)
            {
                failure = new SenseData(SenseKey.AbortedCommand, ttt == IscsiProtocol.ReservedTag ? AdditionalSense.UnexpectedUnsolicitedData : AdditionalSense.DataPhaseError);
            }
            else if (dataSN != task.ExpectedDataSN)
            {
                failure = new SenseData(SenseKey.AbortedCommand, AdditionalSense.DataPhaseError);
            }
            else if (offset != (uint)(task.BurstStart + task.BurstReceived))
            {
                failure = new SenseData(SenseKey.AbortedCommand, AdditionalSense.InvalidDataOutBufferOffset);
            }
            else if (length > task.BurstLength - task.BurstReceived)
            {
                failure = new SenseData(SenseKey.AbortedCommand, ttt == IscsiProtocol.ReservedTag ? AdditionalSense.UnexpectedUnsolicitedData : AdditionalSense.DataPhaseError);
            }

            if (failure is not null)
            {
                IscsiLog.DataOutRefused(connection.Logger, connection.Info, itt, failure.Value.Asc, failure.Value.Ascq);
                task.DataOutFailure = failure;
                task.SignalData();
                into = default;
            }
            else
            {
                into = task.Buffer is null || task.Aborted || task.DataOutFailure is not null
                    ? default
                    : task.Buffer.AsMemory(task.BufferOffset + task.BurstReceived, length);
            }
        }

        if (into.Length == 0 && length > 0)
        {
            await connection.SkipDataAsync(length, cancellationToken).ConfigureAwait(false);
            return;
        }

        var digestOk = await connection.ReadDataAsync(into, cancellationToken).ConfigureAwait(false);
        lock (task)
        {
            if (!digestOk)
            {
                // At ErrorRecoveryLevel 0 a Data-Out that fails its digest ends its task (RFC 7143 7.8).
                connection.Reject(RejectReason.DataDigestError, connection.Bhs, dataSN);
                task.DataOutFailure = new SenseData(SenseKey.AbortedCommand, AdditionalSense.ProtocolServiceCrcError);
            }
            else
            {
                task.BurstReceived += length;
                StreambootMetrics.IscsiTraffic.Written(length);
                task.ExpectedDataSN++;
                if (final && !task.BurstComplete)
                {
                    task.DataOutFailure = new SenseData(SenseKey.AbortedCommand, task.TransferTag == IscsiProtocol.ReservedTag ? AdditionalSense.NotEnoughUnsolicitedData : AdditionalSense.DataPhaseError);
                }
            }

            if (task.BurstComplete || task.DataOutFailure is not null)
            {
                task.SignalData();
            }
        }
    }
}
