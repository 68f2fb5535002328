using System.Buffers.Binary;
using System.Text;

namespace Streamboot.Protocols.Nbd.Connections;

// Replies of the transmission phase. Requests finish in any order, so every
// reply is written whole under one lock: headers are built in the reply's own
// buffer (reads) or in the connection's scratch buffer while holding the lock.
internal sealed partial class NbdConnection
{
    private static void WriteSimpleHeader(Span<byte> buffer, ulong cookie, NbdError error)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, NbdProtocol.SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], (uint)error);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], cookie);
    }

    private static void WriteStructuredHeader(Span<byte> buffer, ulong cookie, NbdReplyFlags flags, NbdReplyType type, uint length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, NbdProtocol.StructuredReplyMagic);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], cookie);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[16..], length);
    }

    /// <summary>
    /// Every write to the stream. On a connection with its own thread the
    /// write is a blocking call: one asynchronous socket operation would switch
    /// the socket to non-blocking mode for good, and blocking reads would then
    /// be emulated through the socket engine, hop and all.
    /// </summary>
    private ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_blocking)
        {
            _stream.Write(data.Span);
            return default;
        }

        return _stream.WriteAsync(data, cancellationToken);
    }

    /// <summary>
    /// Takes the reply lock. Blocking connections wait synchronously: their
    /// writers already block in send, and an asynchronous wait would give each
    /// contended reply a heap-allocated continuation.
    /// </summary>
    private ValueTask LockWritesAsync(CancellationToken cancellationToken)
    {
        if (_blocking)
        {
            _writeLock.Wait(cancellationToken);
            return default;
        }

        return new ValueTask(_writeLock.WaitAsync(cancellationToken));
    }

    /// <summary>Writes one complete reply; replies of concurrent requests never interleave.</summary>
    private async ValueTask SendAsync(ReadOnlyMemory<byte> reply, CancellationToken cancellationToken)
    {
        await LockWritesAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WriteAsync(reply, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async ValueTask SendSimpleReplyAsync(ulong cookie, NbdError error, CancellationToken cancellationToken)
    {
        if (CanBatch(NbdProtocol.SimpleReplyHeaderSize))
        {
            WriteSimpleHeader(BatchSpan(NbdProtocol.SimpleReplyHeaderSize), cookie, error);
            return;
        }

        await LockWritesAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            WriteSimpleHeader(_scratch, cookie, error);
            await WriteAsync(_scratch.AsMemory(0, NbdProtocol.SimpleReplyHeaderSize), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async ValueTask SendStructuredNoneAsync(ulong cookie, CancellationToken cancellationToken)
    {
        await LockWritesAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            WriteStructuredHeader(_scratch, cookie, NbdReplyFlags.Done, NbdReplyType.None, 0);
            await WriteAsync(_scratch.AsMemory(0, NbdProtocol.StructuredReplyHeaderSize), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>A device failure, mapped to its NBD error in NbdErrors and logged once.</summary>
    private ValueTask SendDeviceErrorAsync(NbdRequest request, Exception failure, CancellationToken cancellationToken)
    {
        var error = NbdErrors.FromException(failure);
        if (NbdErrors.IsExpected(failure))
        {
            NbdLog.RequestRefused(_logger, _info, request.Command, request.Offset, request.Length, error, failure.Message);
        }
        else
        {
            NbdLog.RequestFailed(_logger, _info, request.Command, request.Offset, request.Length, error, failure);
        }

        return SendErrorAsync(request, error, failure.Message, cancellationToken);
    }

    /// <summary>
    /// An error reply: a structured ERROR chunk with a message for the commands
    /// that must answer in chunks once structured replies are on (READ,
    /// BLOCK_STATUS), a simple reply otherwise (as nbdkit does).
    /// </summary>
    private async ValueTask SendErrorAsync(NbdRequest request, NbdError error, string message, CancellationToken cancellationToken)
    {
        var structured = _structuredReplies && request.Command is NbdCommand.Read or NbdCommand.BlockStatus;
        if (!structured)
        {
            await SendSimpleReplyAsync(request.Cookie, error, cancellationToken).ConfigureAwait(false);
            return;
        }

        await LockWritesAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            const int Start = NbdProtocol.StructuredReplyHeaderSize + 6;
            var text = message.Length > 1000 ? message[..1000] : message;
            var textLength = Encoding.UTF8.GetBytes(text, _scratch.AsSpan(Start));
            WriteStructuredHeader(_scratch, request.Cookie, NbdReplyFlags.Done, NbdReplyType.Error, (uint)(6 + textLength));
            BinaryPrimitives.WriteUInt32BigEndian(_scratch.AsSpan(NbdProtocol.StructuredReplyHeaderSize), (uint)error);
            BinaryPrimitives.WriteUInt16BigEndian(_scratch.AsSpan(NbdProtocol.StructuredReplyHeaderSize + 4), (ushort)textLength);
            await WriteAsync(_scratch.AsMemory(0, Start + textLength), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
