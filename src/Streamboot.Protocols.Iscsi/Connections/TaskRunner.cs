using System.Buffers;
using Streamboot.Protocols.Iscsi.Pdus;
using Streamboot.Protocols.Iscsi.Scsi;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>
/// A task's way from its turn to its status (RFC 7143 4.2.5, 11.3 to 11.8):
/// the logical unit plans it, unsolicited and solicited data-out (R2T) are
/// taken, the command runs, and the answer goes out as Data-In with the
/// status in its last PDU, or a SCSI Response with sense data and residual
/// counts. A task runs on the receive loop until something really waits
/// (the device, the socket, data from the initiator), then continues on its
/// own while the loop goes on reading.
/// </summary>
internal sealed class TaskRunner(IscsiConnection connection)
{
    /// <summary>The largest Data-In segment sent at once, whatever the initiator accepts (buffers stay pooled sizes).</summary>
    private const int MaxDataInSegment = 256 * 1024;

    /// <summary>A command's turn has come (CmdSN order): it runs.</summary>
    public void Start(IscsiTask task)
    {
        task.Delivered = true;
        _ = RunTaskAsync(task);
    }

    private async Task RunTaskAsync(IscsiTask task)
    {
        var session = connection.Session!;
        var unit = session.Unit!;
        var lunExists = Pdu.LunNumber(task.Lun) == 0;
        var cancellationToken = connection.StoppingToken;
        try
        {
            if (task.UnsolicitedLength > 0)
            {
                await task.WaitForDataAsync().ConfigureAwait(false);
                if (task.Aborted)
                {
                    Finish(task);
                    return;
                }
            }

            if (task.DataOutFailure is { } early)
            {
                await RespondAsync(task, early, default).ConfigureAwait(false);
                return;
            }

            var plan = unit.Plan(task.Cdb, session.Nexus, lunExists);
            if (plan.Done is { } done)
            {
                await RespondAsync(task, done, default).ConfigureAwait(false);
                return;
            }

            switch (plan.DataOut)
            {
                case DataOutMode.None:
                    task.ReturnBuffer();
                    var result = await unit.ExecuteAsync(task.Cdb, default, session.Nexus, lunExists, cancellationToken).ConfigureAwait(false);
                    await RespondAsync(task, result, default).ConfigureAwait(false);
                    return;
                case DataOutMode.Whole:
                    await RunWholeAsync(task, unit, plan, lunExists, cancellationToken).ConfigureAwait(false);
                    return;
                default:
                    await RunStreamAsync(task, unit, plan, cancellationToken).ConfigureAwait(false);
                    return;
            }
        }
        catch (Exception e) when (!IscsiConnection.IsConnectionFailure(e) || e is IOException)
        {
            if (!IscsiErrors.IsExpected(e))
            {
                IscsiLog.CommandFailed(connection.Logger, connection.Info, task.Cdb[0], e);
            }

            await RespondAsync(task, IscsiErrors.SenseOf(e, task.Write), default).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection is going away: no response can be sent.
            Finish(task);
        }
    }

    /// <summary>Residual of the data-out: what the initiator would send (EDTL) against what the command takes (SPDTL).</summary>
    private static Residual DataOutResidual(IscsiTask task, int wanted) =>
        task.ExpectedLength > (uint)wanted ? new Residual(ResponseFlags.Underflow, task.ExpectedLength - (uint)wanted)
        : task.ExpectedLength < (uint)wanted ? new Residual(ResponseFlags.Overflow, (uint)wanted - task.ExpectedLength)
        : default;

    /// <summary>A command whose data-out is taken whole (a parameter list, COMPARE AND WRITE): received, then run.</summary>
    private async Task RunWholeAsync(IscsiTask task, ScsiLogicalUnit unit, ScsiPlan plan, bool lunExists, CancellationToken cancellationToken)
    {
        var wanted = (int)Math.Min(task.Write ? task.ExpectedLength : 0, (uint)plan.DataOutLength);
        var residual = DataOutResidual(task, plan.DataOutLength);
        if (plan.Exact && wanted != plan.DataOutLength || plan.Exact && task.ExpectedLength != (uint)plan.DataOutLength)
        {
            // Blocks of data, and the initiator's buffer is not their size (SBC-3: the CDB and the transfer disagree).
            task.ReturnBuffer();
            await RespondAsync(task, SenseData.InvalidFieldInCdb(0), residual).ConfigureAwait(false);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, wanted));
        var received = Math.Min(task.BurstReceived, wanted);
        if (task.Buffer is { } unsolicited)
        {
            unsolicited.AsSpan(0, received).CopyTo(buffer);
            task.ReturnBuffer();
        }

        if (!await SolicitAsync(task, buffer, received, wanted, null).ConfigureAwait(false))
        {
            FailedTransfer(task);
            return;
        }

        ScsiResult result;
        try
        {
            result = await unit.ExecuteAsync(task.Cdb, buffer.AsMemory(0, wanted), connection.Session!.Nexus, lunExists, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await RespondAsync(task, result, residual).ConfigureAwait(false);
    }

    /// <summary>
    /// A WRITE: the unsolicited burst and every solicited one go to the
    /// device as each arrives. When the initiator's buffer (EDTL) and the
    /// CDB disagree, the command runs as FCP-4 9.4.2 says a device server
    /// does: data beyond the buffer is neither asked for nor written, whole
    /// blocks only, and the residual says by how much they differed.
    /// </summary>
    private async Task RunStreamAsync(IscsiTask task, ScsiLogicalUnit unit, ScsiPlan plan, CancellationToken cancellationToken)
    {
        var transfer = task.Write ? (int)Math.Min(task.ExpectedLength, (uint)plan.DataOutLength) : 0;
        var writable = transfer & ~(ScsiProtocol.BlockSize - 1);
        var received = Math.Min(task.BurstReceived, writable);
        if (received > 0 && task.Buffer is { } unsolicited)
        {
            await unit.WriteAsync(plan.DeviceOffset, unsolicited.AsMemory(0, received), plan.ForceUnitAccess, cancellationToken).ConfigureAwait(false);
        }

        task.ReturnBuffer();
        var ok = await SolicitAsync(task, null, received, writable, (offset, data) => unit.WriteAsync(plan.DeviceOffset + offset, data, plan.ForceUnitAccess, cancellationToken)).ConfigureAwait(false);
        if (!ok)
        {
            FailedTransfer(task);
            return;
        }

        await RespondAsync(task, ScsiResult.Good, DataOutResidual(task, plan.DataOutLength)).ConfigureAwait(false);
    }

    private void FailedTransfer(IscsiTask task)
    {
        if (task.Aborted)
        {
            Finish(task);
            return;
        }

        _ = RespondAsync(task, task.DataOutFailure ?? new SenseData(SenseKey.AbortedCommand, AdditionalSense.DataPhaseError), default).AsTask();
    }

    /// <summary>
    /// Asks for bytes <paramref name="from"/> to <paramref name="to"/> with
    /// R2Ts of at most MaxBurstLength, one at a time, each burst into
    /// <paramref name="whole"/> or into a buffer of its own handed to
    /// <paramref name="write"/>. A connection has at most
    /// <see cref="IscsiServerOptions.MaxBurstsPerConnection"/> bursts
    /// outstanding: the bound on its write buffers. False when the task was
    /// aborted or its data failed.
    /// </summary>
    private async ValueTask<bool> SolicitAsync(IscsiTask task, byte[]? whole, int from, int to, Func<int, ReadOnlyMemory<byte>, ValueTask>? write)
    {
        var maxBurst = connection.Session!.Parameters.MaxBurstLength;
        for (var offset = from; offset < to;)
        {
            var burst = Math.Min(to - offset, maxBurst);
            await connection.BurstSlots.WaitAsync(connection.StoppingToken).ConfigureAwait(false);
            byte[]? own = null;
            try
            {
                uint ttt;
                uint r2tsn;
                lock (task)
                {
                    if (task.Aborted || task.DataOutFailure is not null)
                    {
                        return false;
                    }

                    own = whole is null ? ArrayPool<byte>.Shared.Rent(burst) : null;
                    task.Buffer = whole ?? own;
                    task.BufferOffset = whole is null ? 0 : offset;
                    task.BurstStart = offset;
                    task.BurstLength = burst;
                    task.BurstReceived = 0;
                    task.ExpectedDataSN = 0;
                    ttt = connection.NewTransferTag();
                    task.TransferTag = ttt;
                    r2tsn = task.NextR2TSN++;
                }

                lock (connection.Transfers)
                {
                    connection.Transfers[ttt] = task;
                }

                SendReadyToTransfer(task, ttt, r2tsn, offset, burst);
                await task.WaitForDataAsync().ConfigureAwait(false);
                lock (connection.Transfers)
                {
                    connection.Transfers.Remove(ttt);
                }

                lock (task)
                {
                    task.Buffer = null;
                    if (task.Aborted || task.DataOutFailure is not null)
                    {
                        // The receive loop may still be filling the buffer: it is left to the collector.
                        own = null;
                        return false;
                    }
                }

                if (write is not null)
                {
                    await write(offset, own.AsMemory(0, burst)).ConfigureAwait(false);
                }

                offset += burst;
            }
            finally
            {
                if (own is not null)
                {
                    ArrayPool<byte>.Shared.Return(own);
                }

                connection.BurstSlots.Release();
            }
        }

        return true;
    }

    private void SendReadyToTransfer(IscsiTask task, uint ttt, uint r2tsn, int offset, int length)
    {
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        Pdu.Begin(bhs, IscsiOpcode.ReadyToTransfer, IscsiProtocol.FinalBit, 0);
        Pdu.SetLun(bhs, task.Lun);
        Pdu.SetInitiatorTaskTag(bhs, task.Itt);
        Pdu.SetU32(bhs, 20, ttt);
        Pdu.SetU32(bhs, 36, r2tsn);
        Pdu.SetU32(bhs, 40, (uint)offset);
        Pdu.SetU32(bhs, 44, (uint)length);
        connection.Outbox.Enqueue(bhs, default, StatSequence.Peek);
        connection.Outbox.Flush();
    }

    /// <summary>
    /// Answers a command: its data-in (cut to what the initiator expects,
    /// in PDUs of at most its MaxRecvDataSegmentLength, the status in the
    /// last one when all went well) or a SCSI Response with sense data.
    /// </summary>
    private async ValueTask RespondAsync(IscsiTask task, ScsiResult result, Residual dataOutResidual)
    {
        if (task.Aborted)
        {
            Finish(task);
            return;
        }

        var produced = result.DataInLength;
        var transfer = task.Read && result.Status == ScsiStatus.Good ? (int)Math.Min(task.ExpectedLength, (uint)produced) : 0;
        var residual = task.Write && !task.Read ? dataOutResidual
            : (uint)produced > task.ExpectedLength ? new Residual(ResponseFlags.Overflow, (uint)produced - task.ExpectedLength)
            : (uint)produced < task.ExpectedLength && result.Status == ScsiStatus.Good ? new Residual(ResponseFlags.Underflow, task.ExpectedLength - (uint)produced)
            : default;
        if (!task.Read && produced > 0)
        {
            residual = new Residual(ResponseFlags.Overflow, (uint)produced);
        }

        if (transfer == 0)
        {
            SendResponse(task, result, residual, 0);
            return;
        }

        var chunk = Math.Min(connection.Parameters.InitiatorMaxRecvDataSegmentLength, MaxDataInSegment);
        uint dataSN = 0;
        for (var offset = 0; offset < transfer;)
        {
            var length = Math.Min(chunk, transfer - offset);
            var last = offset + length == transfer;
            byte[]? owner = null;
            ReadOnlyMemory<byte> data;
            if (result.Data is { } bytes)
            {
                data = bytes.AsMemory(offset, length);
            }
            else
            {
                await connection.Outbox.WaitForRoomAsync(connection.StoppingToken).ConfigureAwait(false);
                owner = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    await connection.Session!.Unit!.ReadAsync(result.ReadOffset + offset, owner.AsMemory(0, length), connection.StoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    ArrayPool<byte>.Shared.Return(owner);
                    if (!IscsiErrors.IsExpected(e))
                    {
                        IscsiLog.CommandFailed(connection.Logger, connection.Info, task.Cdb[0], e);
                    }

                    SendResponse(task, IscsiErrors.SenseOf(e, writing: false), default, dataSN);
                    return;
                }

                data = owner.AsMemory(0, length);
            }

            if (task.Aborted)
            {
                if (owner is not null)
                {
                    ArrayPool<byte>.Shared.Return(owner);
                }

                Finish(task);
                return;
            }

            SendDataIn(task, data, owner, dataSN++, offset, last ? residual : null, last);
            offset += length;
        }
    }

    private void SendDataIn(IscsiTask task, ReadOnlyMemory<byte> data, byte[]? owner, uint dataSN, int offset, Residual? status, bool last)
    {
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        var flags = (byte)(last ? IscsiProtocol.FinalBit : 0);
        if (status is { } residual)
        {
            flags |= (byte)((byte)ResponseFlags.Status | (byte)residual.Flags);
        }

        Pdu.Begin(bhs, IscsiOpcode.DataIn, flags, data.Length);
        Pdu.SetInitiatorTaskTag(bhs, task.Itt);
        Pdu.SetU32(bhs, 20, IscsiProtocol.ReservedTag);
        Pdu.SetU32(bhs, 36, dataSN);
        Pdu.SetU32(bhs, 40, (uint)offset);
        if (status is { } final)
        {
            bhs[3] = (byte)ScsiStatus.Good;
            Pdu.SetU32(bhs, 44, final.Count);
            connection.Session!.Complete(task);
            connection.Outbox.Enqueue(bhs, data, StatSequence.Advance, owner);
            connection.Outbox.Flush();
            StreambootMetrics.IscsiTraffic.Read(data.Length);
            StreambootMetrics.IscsiRequestDuration.Record(StreambootMetrics.SecondsSince(task.Received));
            task.MarkFinished();
            return;
        }

        connection.Outbox.Enqueue(bhs, data, StatSequence.None, owner);
        StreambootMetrics.IscsiTraffic.Read(data.Length);
    }

    private void SendResponse(IscsiTask task, ScsiResult result, Residual residual, uint dataInCount)
    {
        Span<byte> bhs = stackalloc byte[IscsiProtocol.BhsLength];
        byte[] data = [];
        if (result.Status == ScsiStatus.CheckCondition)
        {
            // Sense data: SenseLength, then the sense bytes (RFC 7143 11.4.7.2).
            data = new byte[2 + SenseData.FixedLength];
            var senseLength = result.Sense.WriteFixed(data.AsSpan(2));
            data[0] = (byte)(senseLength >> 8);
            data[1] = (byte)senseLength;
        }

        Pdu.Begin(bhs, IscsiOpcode.ScsiResponse, (byte)(IscsiProtocol.FinalBit | (byte)residual.Flags), data.Length);
        bhs[2] = 0; // Command Completed at Target
        bhs[3] = (byte)result.Status;
        Pdu.SetInitiatorTaskTag(bhs, task.Itt);
        Pdu.SetU32(bhs, 36, dataInCount + task.NextR2TSN);
        Pdu.SetU32(bhs, 44, residual.Count);
        connection.Session!.Complete(task);
        connection.Outbox.Enqueue(bhs, data, StatSequence.Advance);
        connection.Outbox.Flush();
        StreambootMetrics.IscsiRequestDuration.Record(StreambootMetrics.SecondsSince(task.Received));
        if (result.Status != ScsiStatus.Good)
        {
            StreambootMetrics.Failed(StreambootMetrics.Iscsi, result.Status == ScsiStatus.CheckCondition ? MetricLabel.Of(result.Sense.Key) : MetricLabel.Of(result.Status));
        }

        task.MarkFinished();
    }

    /// <summary>A task that ends without a response (aborted): its tag and window slot are freed.</summary>
    private void Finish(IscsiTask task)
    {
        connection.Session?.Complete(task);
        task.MarkFinished();
        connection.Outbox.Flush();
    }
}
