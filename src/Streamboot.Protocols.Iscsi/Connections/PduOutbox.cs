using System.Buffers;
using System.Net.Sockets;
using Streamboot.Protocols.Iscsi.Pdus;

namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>How a PDU uses the connection's status sequence number (RFC 7143 4.2.2.2).</summary>
internal enum StatSequence
{
    /// <summary>The PDU carries the next StatSN and uses it up (responses, Reject, Async, NOP-In answers).</summary>
    Advance,

    /// <summary>The PDU carries the next StatSN without using it (R2T, target-initiated NOP-In).</summary>
    Peek,

    /// <summary>No StatSN (Data-In without status).</summary>
    None,
}

/// <summary>
/// The sending side of a connection. PDUs are queued whole (header and
/// data, digests and padding) and go out in as few system calls as
/// possible: one sendmsg carries everything queued while the previous one
/// ran, and the receive loop holds its replies back (no <see cref="Flush"/>)
/// while more requests are already buffered. Headers and small data are
/// copied into pooled chunks; large data is sent from its own buffer, which
/// goes back to the pool once it is on the wire. StatSN is assigned here, in
/// the order PDUs leave, together with the session's current window.
/// </summary>
internal sealed class PduOutbox
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>Data up to this size is copied next to its header: one iovec, and its buffer is free at once.</summary>
    private const int CopyThreshold = 16 * 1024;

    private readonly Socket _socket;
    private readonly Func<(uint ExpCmdSN, uint MaxCmdSN)> _window;
    private readonly int _maxQueuedBytes;
    private readonly object _lock = new();
    private List<ArraySegment<byte>> _queued = [];
    private List<byte[]> _queuedOwners = [];
    private List<ArraySegment<byte>> _sendingList = [];
    private List<byte[]> _sendingOwners = [];
    private byte[]? _chunk;
    private int _chunkUsed;
    private bool _sending;
    private bool _broken;
    private long _queuedBytes;
    private TaskCompletionSource? _room;
    private uint _statSN;

    public PduOutbox(Socket socket, Func<(uint ExpCmdSN, uint MaxCmdSN)> window, int maxQueuedBytes)
    {
        _socket = socket;
        _window = window;
        _maxQueuedBytes = maxQueuedBytes;
    }

    public bool HeaderDigest { get; set; }

    public bool DataDigest { get; set; }

    /// <summary>The StatSN the next status will carry.</summary>
    public uint NextStatSN
    {
        get
        {
            lock (_lock)
            {
                return _statSN;
            }
        }
    }

    public long BytesSent { get; private set; }

    /// <summary>Set when a send failed: the connection is over.</summary>
    public Exception? Failure { get; private set; }

    public void StartStatSN(uint statSN)
    {
        lock (_lock)
        {
            _statSN = statSN;
        }
    }

    /// <summary>
    /// Queues a PDU: <paramref name="bhs"/> (48 bytes, every field but StatSN,
    /// ExpCmdSN and MaxCmdSN filled in) and its data segment. When
    /// <paramref name="owner"/> is given it is the pooled array behind
    /// <paramref name="data"/>, returned to the pool once sent (or copied).
    /// Returns the StatSN the PDU carries.
    /// </summary>
    public uint Enqueue(Span<byte> bhs, ReadOnlyMemory<byte> data, StatSequence sequence, byte[]? owner = null)
    {
        lock (_lock)
        {
            var statSN = _statSN;
            if (sequence != StatSequence.None)
            {
                Pdu.SetU32(bhs, 24, statSN);
                if (sequence == StatSequence.Advance)
                {
                    _statSN++;
                }
            }

            var (expCmdSN, maxCmdSN) = _window();
            Pdu.SetU32(bhs, 28, expCmdSN);
            Pdu.SetU32(bhs, 32, maxCmdSN);
            if (_broken)
            {
                if (owner is not null)
                {
                    ArrayPool<byte>.Shared.Return(owner);
                }

                return statSN;
            }

            Append(bhs[..IscsiProtocol.BhsLength]);
            if (HeaderDigest)
            {
                Span<byte> digest = stackalloc byte[4];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(digest, Crc32C.Compute(bhs[..IscsiProtocol.BhsLength]));
                Append(digest);
            }

            if (data.Length > 0)
            {
                if (data.Length <= CopyThreshold || owner is null)
                {
                    Append(data.Span);
                    if (owner is not null)
                    {
                        ArrayPool<byte>.Shared.Return(owner);
                    }
                }
                else
                {
                    _queued.Add(new ArraySegment<byte>(owner, 0, data.Length));
                    _queuedOwners.Add(owner);
                    _queuedBytes += data.Length;
                }

                Span<byte> tail = stackalloc byte[8];
                var padding = Pdu.Padding(data.Length);
                tail[..padding].Clear();
                var tailLength = padding;
                if (DataDigest)
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(tail[padding..], Crc32C.OfDataSegment(data.Span));
                    tailLength += 4;
                }

                Append(tail[..tailLength]);
            }

            return statSN;
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            if (_chunk is null || _chunkUsed == _chunk.Length)
            {
                _chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
                _chunkUsed = 0;
                _queuedOwners.Add(_chunk);
            }

            var take = Math.Min(bytes.Length, _chunk.Length - _chunkUsed);
            bytes[..take].CopyTo(_chunk.AsSpan(_chunkUsed));
            // Continue the last segment when it ends where this starts in the same chunk.
            if (_queued.Count > 0 && _queued[^1].Array == _chunk && _queued[^1].Offset + _queued[^1].Count == _chunkUsed)
            {
                var last = _queued[^1];
                _queued[^1] = new ArraySegment<byte>(_chunk, last.Offset, last.Count + take);
            }
            else
            {
                _queued.Add(new ArraySegment<byte>(_chunk, _chunkUsed, take));
            }

            _chunkUsed += take;
            _queuedBytes += take;
            bytes = bytes[take..];
        }
    }

    /// <summary>Starts sending what is queued, unless a send is already running (it takes the rest when it is done).</summary>
    public void Flush()
    {
        lock (_lock)
        {
            if (_sending || _broken || _queued.Count == 0)
            {
                return;
            }

            _sending = true;
        }

        _ = SendLoopAsync();
    }

    /// <summary>Waits while more than the limit is queued (the socket is slower than the replies being made).</summary>
    public ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            if (_queuedBytes <= _maxQueuedBytes || _broken)
            {
                return ValueTask.CompletedTask;
            }

            _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _room.Task;
        }

        Flush();
        return new ValueTask(wait.WaitAsync(cancellationToken));
    }

    /// <summary>Sends what is queued and waits until it is on the wire (a Logout response before the close).</summary>
    public async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        Flush();
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if ((!_sending && _queued.Count == 0) || _broken)
                {
                    return;
                }

                _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _room.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            List<ArraySegment<byte>> batch;
            List<byte[]> owners;
            long bytes;
            lock (_lock)
            {
                if (_queued.Count == 0 || _broken)
                {
                    _sending = false;
                    ReleaseWaiters();
                    return;
                }

                batch = _queued;
                owners = _queuedOwners;
                _queued = _sendingList;
                _queuedOwners = _sendingOwners;
                // The chunk being filled now goes out with this batch; the next append starts another.
                _chunk = null;
                _chunkUsed = 0;
                bytes = 0;
                foreach (var segment in batch)
                {
                    bytes += segment.Count;
                }
            }

            try
            {
                var sent = 0L;
                while (sent < bytes)
                {
                    var n = await _socket.SendAsync(sent == 0 ? batch : Remaining(batch, sent), SocketFlags.None).ConfigureAwait(false);
                    if (n <= 0)
                    {
                        throw new SocketException((int)SocketError.ConnectionReset);
                    }

                    sent += n;
                }

                BytesSent += bytes;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                lock (_lock)
                {
                    _broken = true;
                    Failure = e;
                    _sending = false;
                    foreach (var owner in _queuedOwners)
                    {
                        ArrayPool<byte>.Shared.Return(owner);
                    }

                    _queued.Clear();
                    _queuedOwners.Clear();
                    _queuedBytes = 0;
                    ReleaseWaiters();
                }

                ReturnAll(owners);
                batch.Clear();
                return;
            }

            ReturnAll(owners);
            batch.Clear();
            lock (_lock)
            {
                _sendingList = batch;
                _sendingOwners = owners;
                _queuedBytes -= bytes;
                if (_queuedBytes <= _maxQueuedBytes)
                {
                    ReleaseWaiters();
                }
            }
        }
    }

    private static List<ArraySegment<byte>> Remaining(List<ArraySegment<byte>> batch, long sent)
    {
        var rest = new List<ArraySegment<byte>>();
        foreach (var segment in batch)
        {
            if (sent >= segment.Count)
            {
                sent -= segment.Count;
                continue;
            }

            rest.Add(sent > 0 ? segment.Slice((int)sent) : segment);
            sent = 0;
        }

        return rest;
    }

    private static void ReturnAll(List<byte[]> owners)
    {
        foreach (var owner in owners)
        {
            ArrayPool<byte>.Shared.Return(owner);
        }

        owners.Clear();
    }

    private void ReleaseWaiters()
    {
        var room = _room;
        _room = null;
        room?.TrySetResult();
    }

    /// <summary>Stops sending: what is queued is dropped and its buffers go back to the pool.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _broken = true;
            if (!_sending)
            {
                ReturnAll(_queuedOwners);
                _queued.Clear();
            }

            ReleaseWaiters();
        }
    }
}
