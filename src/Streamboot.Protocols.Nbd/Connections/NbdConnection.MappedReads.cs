using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Protocols.Nbd.Native;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Connections;

// READ replies without a buffer of ours. Copying every byte twice (page cache
// into our buffer, buffer into the socket) was the largest cost of serving big
// reads (bench/README.md). When the device can say where a range's bytes
// already are (IReadMapping: a mapped image file, a read cache's blocks,
// zeroes, a plain file range), the header and those pieces go out in one
// sendmsg(2), one copy straight into the socket (a plain file range with
// sendfile(2)). Anything the device declines to map takes the copy path.
internal sealed partial class NbdConnection
{
    private const int MaxSegments = 64;

    // Smaller replies are gathered into one send with their neighbours (Batching), which beats a call each.
    private const int MappedReadThreshold = 64 * 1024;

    private readonly SafeSocketHandle? _socket;

    /// <summary>
    /// Answers a valid READ from where its bytes are, on the calling thread.
    /// True when the request is done (replied, or the connection broke); false
    /// when it could not be mapped and nothing was sent: the caller reads it
    /// the ordinary way, which also reports any device error.
    /// </summary>
    private bool TryReadMapped(NbdExport export, NbdRequest request, CancellationToken cancellationToken)
    {
        if (_socket is null || request.Length < MappedReadThreshold || export.Device is not IReadMapping mapping)
        {
            return false;
        }

        var length = (int)request.Length;
        var segments = ArrayPool<ReadSegment>.Shared.Rent(MaxSegments);
        try
        {
            int count;
            try
            {
                if (!mapping.TryMapRead((long)request.Offset, length, segments.AsSpan(0, MaxSegments), out count))
                {
                    return false;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return false;
            }

            Span<byte> header = stackalloc byte[NbdProtocol.StructuredReplyHeaderSize + 8];
            if (_structuredReplies)
            {
                WriteStructuredHeader(header, request.Cookie, NbdReplyFlags.Done, NbdReplyType.OffsetData, 8 + (uint)length);
                BinaryPrimitives.WriteUInt64BigEndian(header[NbdProtocol.StructuredReplyHeaderSize..], request.Offset);
            }
            else
            {
                header = header[..NbdProtocol.SimpleReplyHeaderSize];
                WriteSimpleHeader(header, request.Cookie, NbdError.None);
            }

            try
            {
                _writeLock.Wait(cancellationToken);
                try
                {
                    LinuxSocket.SendReply(_socket, header, segments.AsSpan(0, count));
                }
                finally
                {
                    _writeLock.Release();
                }

                Interlocked.Add(ref _bytesRead, length);
            }
            catch (Exception e)
            {
                // Part of the reply may be out: the stream is out of step with the
                // client, which must see the connection end rather than wait.
                Break(e);
                _stream.Dispose();
            }

            return true;
        }
        finally
        {
            Array.Clear(segments, 0, MaxSegments);
            ArrayPool<ReadSegment>.Shared.Return(segments);
        }
    }
}
