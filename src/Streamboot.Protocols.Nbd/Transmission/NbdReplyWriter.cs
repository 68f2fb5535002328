using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Streamboot.Protocols.Nbd.Connections;
using Streamboot.Protocols.Nbd.Limits;
using Streamboot.Protocols.Nbd.Native;

namespace Streamboot.Protocols.Nbd.Transmission;

/// <summary>
/// Replies of the transmission phase. Requests finish in any order; each
/// hands its one reply here, whole, and is done: the reply joins the
/// connection's send queue, which one sender at a time drains in order (the
/// request that found it idle, then whichever flow resumes it when the
/// socket has room again). A reply's request gives back its share of the
/// in-flight limits only when the reply has left; a client that does not
/// read therefore stops being read (<see cref="NbdInFlight"/>), and what
/// waits here is bounded by those limits.
/// </summary>
/// <remarks>
/// One sender rather than a lock around each write: replies that queue up
/// while the socket is full go out together when it drains, one wake-up for
/// all of them instead of one per waiting reply. Small replies made on the
/// reader's own flow are also batched: a client that keeps many requests in
/// flight sends them in bursts, the reader finds several headers buffered and
/// runs them one after the other, and their replies are gathered into one
/// buffer that is queued as one send just before the reader would wait (for
/// input, for room in the limits) or when it fills; a burst of 16 4-KiB reads
/// costs one send instead of 16. Nothing waits on a timer. "The reader's own
/// flow" is the reader's thread while the reader runs: the reader marks it
/// (<see cref="EnterReader"/>) whenever it resumes and clears it before it
/// waits, so a request that went asynchronous never touches the batch.
/// </remarks>
internal sealed class NbdReplyWriter
{
    /// <summary>Replies up to this size may be batched.</summary>
    public const int MaxBatchedReply = (32 * 1024) + 64;

    private const int BatchSize = 128 * 1024;
    private const int MaxErrorMessage = 1000;
    private readonly NbdTransport _transport;
    private readonly NbdSocketStream? _socket;
    private readonly NbdInFlight _inFlight;
    private readonly bool _structured;
    private readonly Action<Exception> _failed;
    private readonly ConcurrentQueue<NbdOutgoing> _queue = new();
    private CancellationToken _token;
    private int _sending;
    private volatile bool _broken;
    private byte[]? _batch;
    private int _batchLength;
    private int _batchRequests;
    private long _batchBytes;
    private int _readerThread = -1;

    /// <param name="transport">Where replies go.</param>
    /// <param name="socket">The socket under it for mapped replies (null: none are made).</param>
    /// <param name="inFlight">What each reply gives back once sent.</param>
    /// <param name="structuredReplies">Structured replies were negotiated.</param>
    /// <param name="failed">Called once when a send fails: the connection cannot go on.</param>
    public NbdReplyWriter(NbdTransport transport, NbdSocketStream? socket, NbdInFlight inFlight, bool structuredReplies, Action<Exception> failed)
    {
        _transport = transport;
        _socket = socket;
        _inFlight = inFlight;
        _structured = structuredReplies;
        _failed = failed;
    }

    /// <summary>Mapped replies can be sent (plain TCP on Linux, zero-copy reads on).</summary>
    public bool CanSendMapped => _socket is not null;

    /// <summary>The reader should queue the batch now (it is half full).</summary>
    public bool ShouldFlush => _batchLength > BatchSize / 2;

    /// <summary>Room for the header in front of READ data: what <see cref="WriteReadHeader"/> writes.</summary>
    public int ReadHeaderSize => _structured ? NbdProtocol.MaxReplyHeaderSize : NbdProtocol.SimpleReplyHeaderSize;

    public void Start(CancellationToken cancellationToken)
    {
        _token = cancellationToken;
        _batch = ArrayPool<byte>.Shared.Rent(BatchSize);
    }

    /// <summary>After the last reply has been completed.</summary>
    public void Stop()
    {
        _readerThread = -1;
        if (Interlocked.Exchange(ref _batch, null) is { } batch)
        {
            ArrayPool<byte>.Shared.Return(batch);
        }
    }

    /// <summary>The reader runs (again) on this thread: replies made here may be batched.</summary>
    public void EnterReader() => _readerThread = Environment.CurrentManagedThreadId;

    /// <summary>The reader is about to wait: nothing may batch until it resumes.</summary>
    public void LeaveReader() => _readerThread = -1;

    private bool OnReaderFlow => _readerThread == Environment.CurrentManagedThreadId;

    /// <summary>Queues the gathered replies (reader only).</summary>
    public void Flush()
    {
        if (_batchLength == 0 || _batch is not { } batch)
        {
            return;
        }

        var outgoing = NbdOutgoing.FromBuffer(batch, _batchLength, _batchRequests, _batchBytes);
        _batch = ArrayPool<byte>.Shared.Rent(BatchSize);
        _batchLength = 0;
        _batchRequests = 0;
        _batchBytes = 0;
        Enqueue(outgoing);
    }

    /// <summary>A complete reply in the first <paramref name="length"/> bytes of <paramref name="pooled"/>, which it takes.</summary>
    public void Send(byte[] pooled, int length, long inFlightBytes)
    {
        if (TryReserveBatch(length, inFlightBytes, out var room))
        {
            pooled.AsSpan(0, length).CopyTo(room);
            ArrayPool<byte>.Shared.Return(pooled);
            return;
        }

        Enqueue(NbdOutgoing.FromBuffer(pooled, length, 1, inFlightBytes));
    }

    public void SendSimple(ulong cookie, NbdError error, long inFlightBytes)
    {
        if (TryReserveBatch(NbdProtocol.SimpleReplyHeaderSize, inFlightBytes, out var room))
        {
            WriteSimpleHeader(room, cookie, error);
            return;
        }

        var reply = ArrayPool<byte>.Shared.Rent(NbdProtocol.SimpleReplyHeaderSize);
        WriteSimpleHeader(reply, cookie, error);
        Enqueue(NbdOutgoing.FromBuffer(reply, NbdProtocol.SimpleReplyHeaderSize, 1, inFlightBytes));
    }

    /// <summary>A structured reply that is only "done" (a zero-length READ).</summary>
    public void SendStructuredNone(ulong cookie, long inFlightBytes)
    {
        var reply = ArrayPool<byte>.Shared.Rent(NbdProtocol.StructuredReplyHeaderSize);
        WriteStructuredHeader(reply, cookie, NbdReplyFlags.Done, NbdReplyType.None, 0);
        Send(reply, NbdProtocol.StructuredReplyHeaderSize, inFlightBytes);
    }

    /// <summary>
    /// An error reply: a structured ERROR chunk with a message for the commands
    /// that must answer in chunks once structured replies are on (READ,
    /// BLOCK_STATUS), a simple reply otherwise (as nbdkit does).
    /// </summary>
    public void SendError(NbdRequest request, NbdError error, string message, long inFlightBytes)
    {
        if (!_structured || request.Command is not (NbdCommand.Read or NbdCommand.BlockStatus))
        {
            SendSimple(request.Cookie, error, inFlightBytes);
            return;
        }

        const int Start = NbdProtocol.StructuredReplyHeaderSize + 6;
        var text = message.Length > MaxErrorMessage ? message[..MaxErrorMessage] : message;
        var reply = ArrayPool<byte>.Shared.Rent(Start + Encoding.UTF8.GetMaxByteCount(text.Length));
        var textLength = Encoding.UTF8.GetBytes(text, reply.AsSpan(Start));
        WriteStructuredHeader(reply, request.Cookie, NbdReplyFlags.Done, NbdReplyType.Error, (uint)(6 + textLength));
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(NbdProtocol.StructuredReplyHeaderSize), (uint)error);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(NbdProtocol.StructuredReplyHeaderSize + 4), (ushort)textLength);
        Send(reply, Start + textLength, inFlightBytes);
    }

    /// <summary>A READ reply from where its bytes are, which it takes (released once sent).</summary>
    public void SendMapped(NbdMappedReply reply, long inFlightBytes) => Enqueue(NbdOutgoing.FromMapped(reply, 1, inFlightBytes));

    /// <summary>The header of a successful READ reply carrying all its data at once; returns its length.</summary>
    public int WriteReadHeader(Span<byte> buffer, NbdRequest request)
    {
        if (_structured)
        {
            WriteStructuredHeader(buffer, request.Cookie, NbdReplyFlags.Done, NbdReplyType.OffsetData, 8 + request.Length);
            BinaryPrimitives.WriteUInt64BigEndian(buffer[NbdProtocol.StructuredReplyHeaderSize..], request.Offset);
            return NbdProtocol.MaxReplyHeaderSize;
        }

        WriteSimpleHeader(buffer, request.Cookie, NbdError.None);
        return NbdProtocol.SimpleReplyHeaderSize;
    }

    public static void WriteStructuredHeader(Span<byte> buffer, ulong cookie, NbdReplyFlags flags, NbdReplyType type, uint length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, NbdProtocol.StructuredReplyMagic);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], cookie);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[16..], length);
    }

    private static void WriteSimpleHeader(Span<byte> buffer, ulong cookie, NbdError error)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, NbdProtocol.SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], (uint)error);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], cookie);
    }

    /// <summary>Room in the batch for a small reply made on the reader's flow; the reply's request is then the batch's.</summary>
    private bool TryReserveBatch(int length, long inFlightBytes, out Span<byte> room)
    {
        room = default;
        if (length > MaxBatchedReply || !OnReaderFlow || _batch is not { } batch || _batchLength + length > batch.Length)
        {
            return false;
        }

        room = batch.AsSpan(_batchLength, length);
        _batchLength += length;
        _batchRequests++;
        _batchBytes += inFlightBytes;
        return true;
    }

    private void Enqueue(NbdOutgoing outgoing)
    {
        _queue.Enqueue(outgoing);
        if (Interlocked.CompareExchange(ref _sending, 1, 0) == 0)
        {
            // This flow sends until the queue is empty; should the socket fill, the rest goes on by itself.
            _ = DrainAsync();
        }
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            while (_queue.TryDequeue(out var outgoing))
            {
                if (!_broken)
                {
                    try
                    {
                        var sending = SendAsync(outgoing);
                        if (!sending.IsCompletedSuccessfully)
                        {
                            await sending.ConfigureAwait(false);
                        }
                    }
                    catch (Exception e)
                    {
                        // Part of a reply may be out: nothing after it can be sent. What is still
                        // queued is dropped (and given back) as it comes.
                        _broken = true;
                        _failed(e);
                    }
                }

                Complete(outgoing);
            }

            Volatile.Write(ref _sending, 0);
            // A reply queued after the last look but before the release would be stranded: look again.
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _sending, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private ValueTask SendAsync(NbdOutgoing outgoing)
    {
        if (outgoing.Mapped is not { } mapped)
        {
            return _transport.WriteAsync(outgoing.Buffer.AsMemory(0, outgoing.Length), _token);
        }

        var sent = LinuxSocket.TrySend(_socket!.Socket.SafeHandle, mapped.Header.AsSpan(0, mapped.HeaderLength), mapped.Pieces.AsSpan(0, mapped.PieceCount), 0);
        return sent == mapped.Length ? default : SendRestAsync(mapped, sent);
    }

    /// <summary>What the socket did not take at once: the rest, from where it stopped, each time it has room.</summary>
    private async ValueTask SendRestAsync(NbdMappedReply reply, long sent)
    {
        while (sent < reply.Length)
        {
            await _socket!.Registration.WaitWritableAsync(_token).ConfigureAwait(false);
            sent = LinuxSocket.TrySend(_socket.Socket.SafeHandle, reply.Header.AsSpan(0, reply.HeaderLength), reply.Pieces.AsSpan(0, reply.PieceCount), sent);
        }
    }

    /// <summary>The entry has left (or never will): what it held goes back, then its requests' share.</summary>
    private void Complete(NbdOutgoing outgoing)
    {
        if (outgoing.Buffer is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        outgoing.Mapped?.Release();
        if (outgoing.Requests > 0)
        {
            _inFlight.Exit(outgoing.Requests, outgoing.Bytes);
        }
    }
}
