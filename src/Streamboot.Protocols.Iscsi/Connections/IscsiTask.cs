using System.Buffers;
using Streamboot.Protocols.Iscsi.Scsi;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>
/// One SCSI command of a session (RFC 7143 4.2.2: a task), from its
/// Command PDU to its status: what it asked, the data-out it has received
/// so far and the burst it is receiving. The connection's receive loop
/// fills bursts; the task's own flow (IscsiConnection.Commands.cs) waits
/// for them. State changes happen under the task's lock.
/// </summary>
internal sealed class IscsiTask : ISequenced
{
    private TaskCompletionSource? _dataArrived;
    private TaskCompletionSource? _finished;
    private bool _isFinished;

    public IscsiTask(IscsiConnection connection, uint itt, ulong lun, uint cmdSN, bool immediate, uint expectedLength, bool read, bool write, byte[] cdb)
    {
        Connection = connection;
        Itt = itt;
        Lun = lun;
        CmdSN = cmdSN;
        Immediate = immediate;
        ExpectedLength = expectedLength;
        Read = read;
        Write = write;
        Cdb = cdb;
    }

    public IscsiConnection Connection { get; }

    /// <summary>When its Command PDU was read (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>): the start of its latency.</summary>
    public long Received { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    public uint Itt { get; }

    public ulong Lun { get; }

    public uint CmdSN { get; }

    public bool Immediate { get; }

    /// <summary>Expected Data Transfer Length: what the initiator's buffer holds (EDTL).</summary>
    public uint ExpectedLength { get; }

    public bool Read { get; }

    public bool Write { get; }

    public byte[] Cdb { get; }

    /// <summary>Unsolicited data the initiator will send (immediate plus unsolicited Data-Out; RFC 7143 4.2.5.1).</summary>
    public int UnsolicitedLength { get; set; }

    /// <summary>The buffer the current burst lands in, from byte <see cref="BurstStart"/> of the transfer.</summary>
    public byte[]? Buffer { get; set; }

    /// <summary>Where the buffer's first byte sits in the buffer it belongs to (a whole data-out buffer holds every burst).</summary>
    public int BufferOffset { get; set; }

    public int BurstStart { get; set; }

    public int BurstLength { get; set; }

    public int BurstReceived { get; set; }

    public uint ExpectedDataSN { get; set; }

    /// <summary>The Target Transfer Tag of the R2T being answered; <see cref="IscsiProtocol.ReservedTag"/> for unsolicited data.</summary>
    public uint TransferTag { get; set; } = IscsiProtocol.ReservedTag;

    public uint NextR2TSN { get; set; }

    /// <summary>The failure that ends the task instead of its command (a digest error, data out of order).</summary>
    public SenseData? DataOutFailure { get; set; }

    public bool Delivered { get; set; }

    public bool Aborted { get; private set; }

    /// <summary>Counted in the session's window (a non-immediate command).</summary>
    public bool Counted { get; set; }

    public bool BurstComplete => BurstReceived >= BurstLength;

    public void Deliver() => Connection.Runner.Start(this);

    /// <summary>Waits until the current burst is complete, or the task is aborted or has failed.</summary>
    public Task WaitForDataAsync()
    {
        lock (this)
        {
            if (BurstComplete || Aborted || DataOutFailure is not null)
            {
                return Task.CompletedTask;
            }

            _dataArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _dataArrived.Task;
        }
    }

    /// <summary>Wakes the task's flow (its burst is complete, or it failed); call under the lock.</summary>
    public void SignalData()
    {
        var signal = _dataArrived;
        _dataArrived = null;
        signal?.TrySetResult();
    }

    /// <summary>Aborted by task management: no response will be sent; data still arriving for it is dropped.</summary>
    public void Abort()
    {
        lock (this)
        {
            Aborted = true;
            SignalData();
        }
    }

    /// <summary>Completes when the task is over (its response sent or suppressed, its buffers back).</summary>
    public Task WhenFinishedAsync()
    {
        lock (this)
        {
            if (_isFinished)
            {
                return Task.CompletedTask;
            }

            _finished ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _finished.Task;
        }
    }

    public void MarkFinished()
    {
        lock (this)
        {
            _isFinished = true;
            if (Aborted)
            {
                // The receive loop may still be reading into it: the collector takes it, never the pool.
                Buffer = null;
            }
            else
            {
                ReturnBuffer();
            }

            _finished?.TrySetResult();
        }
    }

    public void ReturnBuffer()
    {
        if (Buffer is { } buffer)
        {
            Buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
