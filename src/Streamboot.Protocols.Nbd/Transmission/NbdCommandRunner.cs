using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Streamboot.Protocols.Nbd.Connections;
using Streamboot.Storage.BlockDevices;
using Streamboot.Telemetry;

namespace Streamboot.Protocols.Nbd.Transmission;

/// <summary>
/// Runs one request against the session's device and hands its one reply to
/// the <see cref="NbdReplyWriter"/>: READ (from where its bytes are, or
/// through a buffer), WRITE, FLUSH, TRIM, CACHE, WRITE_ZEROES, BLOCK_STATUS.
/// Device failures become error replies (mapped in <see cref="NbdErrors"/>).
/// A request that completes has handed over its reply, and with it the duty
/// to give back its <c>inFlightBytes</c> once the reply has left; one that
/// throws (cancelled: the connection is ending) has not.
/// </summary>
internal sealed class NbdCommandRunner
{
    private const int MaxExtents = 1024;
    private readonly NbdSession _session;
    private readonly NbdReplyWriter _writer;
    private readonly NbdSessionCounters _counters;
    private readonly ILogger _logger;
    private readonly NbdConnectionInfo _info;

    public NbdCommandRunner(NbdSession session, NbdReplyWriter writer, NbdSessionCounters counters, ILogger logger, NbdConnectionInfo info)
    {
        _session = session;
        _writer = writer;
        _counters = counters;
        _logger = logger;
        _info = info;
    }

    /// <summary>A request that failed validation: logged and answered with its error.</summary>
    public void Refuse(NbdRequest request, NbdError error, string reason, long inFlightBytes)
    {
        NbdLog.RequestRefused(_logger, _info, request.Command, request.Offset, request.Length, error, reason);
        StreambootMetrics.Failed(StreambootMetrics.Nbd, NbdErrors.Label(error));
        _writer.SendError(request, error, reason, inFlightBytes);
    }

    /// <summary>Runs a valid request to its reply; returns <paramref name="payload"/> to the pool.</summary>
    public async ValueTask RunAsync(NbdRequest request, byte[]? payload, long inFlightBytes, CancellationToken cancellationToken)
    {
        try
        {
            var device = _session.Device;
            switch (request.Command)
            {
                case NbdCommand.Read:
                    await ReadAsync(device, request, inFlightBytes, cancellationToken).ConfigureAwait(false);
                    return;
                case NbdCommand.BlockStatus:
                    await BlockStatusAsync(device, request, inFlightBytes, cancellationToken).ConfigureAwait(false);
                    return;
            }

            Exception? failure = null;
            try
            {
                await ExecuteAsync(device, request, payload, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failure = e;
            }

            if (failure is null)
            {
                _writer.SendSimple(request.Cookie, NbdError.None, inFlightBytes);
            }
            else
            {
                SendDeviceError(request, failure, inFlightBytes);
            }
        }
        finally
        {
            if (payload is not null)
            {
                ArrayPool<byte>.Shared.Return(payload);
            }
        }
    }

    /// <summary>The commands whose success is an empty reply.</summary>
    private async ValueTask ExecuteAsync(IBlockDevice device, NbdRequest request, byte[]? payload, CancellationToken cancellationToken)
    {
        var offset = (long)request.Offset;
        var length = request.Length;
        var fua = (request.Flags & NbdCommandFlags.Fua) != 0;
        var deviceFua = fua && (device.Capabilities & BlockDeviceCapabilities.CanFua) != 0;
        var writeFlags = deviceFua ? WriteFlags.ForceUnitAccess : WriteFlags.None;
        switch (request.Command)
        {
            case NbdCommand.Write:
                await device.WriteAsync(offset, payload.AsMemory(0, (int)length), writeFlags, cancellationToken).ConfigureAwait(false);
                _counters.Written(length);
                break;
            case NbdCommand.Flush:
                await device.FlushAsync(cancellationToken).ConfigureAwait(false);
                return;
            case NbdCommand.Trim:
                await device.TrimAsync(offset, length, writeFlags, cancellationToken).ConfigureAwait(false);
                break;
            case NbdCommand.WriteZeroes:
                if ((request.Flags & NbdCommandFlags.NoHole) == 0)
                {
                    writeFlags |= WriteFlags.MayTrim;
                }

                await device.WriteZeroesAsync(offset, length, writeFlags, cancellationToken).ConfigureAwait(false);
                break;
            case NbdCommand.Cache:
                await CacheAsync(device, offset, length, cancellationToken).ConfigureAwait(false);
                return;
        }

        // FUA without device support is a write followed by a flush.
        if (fua && !deviceFua)
        {
            await device.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>NBD_CMD_CACHE: read the range once so the layers below (page cache, read cache) hold it.</summary>
    private static async ValueTask CacheAsync(IBlockDevice device, long offset, long length, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, CacheChunk));
        try
        {
            while (length > 0)
            {
                var n = (int)Math.Min(length, buffer.Length);
                await device.ReadAsync(offset, buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                offset += n;
                length -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The buffer NBD_CMD_CACHE reads through, which is what it holds in flight.</summary>
    public const int CacheChunk = 1024 * 1024;

    /// <summary>
    /// NBD_CMD_READ. A big read the device maps goes out from where its bytes
    /// are (<see cref="NbdMappedReply"/>); otherwise the device reads straight
    /// into the reply buffer behind room for the header, so the reply is one
    /// send and no further copy.
    /// </summary>
    private async ValueTask ReadAsync(IBlockDevice device, NbdRequest request, long inFlightBytes, CancellationToken cancellationToken)
    {
        var length = (int)request.Length;
        if (_writer.CanSendMapped && length >= NbdMappedReply.Threshold && device is IReadMapping mapping && TryReadMapped(mapping, request, inFlightBytes))
        {
            return;
        }

        var headerSize = _writer.ReadHeaderSize;
        var buffer = ArrayPool<byte>.Shared.Rent(headerSize + length);
        var handedOver = false;
        try
        {
            Exception? failure = null;
            try
            {
                await device.ReadAsync((long)request.Offset, buffer.AsMemory(headerSize, length), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failure = e;
            }

            if (failure is not null)
            {
                SendDeviceError(request, failure, inFlightBytes);
                return;
            }

            if (length == 0 && _session.StructuredReplies)
            {
                // An OFFSET_DATA chunk may not be empty: a zero-length read is just "done".
                _writer.SendStructuredNone(request.Cookie, inFlightBytes);
                return;
            }

            _writer.WriteReadHeader(buffer, request);
            handedOver = true;
            _writer.Send(buffer, headerSize + length, inFlightBytes);
            _counters.Read(length);
        }
        finally
        {
            if (!handedOver)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>The READ reply from where its bytes are, if the device maps the whole range.</summary>
    private bool TryReadMapped(IReadMapping mapping, NbdRequest request, long inFlightBytes)
    {
        var segments = ArrayPool<ReadSegment>.Shared.Rent(NbdMappedReply.MaxSegments);
        try
        {
            if (!NbdMappedReply.TryMap(mapping, (long)request.Offset, (int)request.Length, segments.AsSpan(0, NbdMappedReply.MaxSegments), out var count))
            {
                return false;
            }

            var reply = NbdMappedReply.Create(_writer.ReadHeaderSize, segments.AsSpan(0, count));
            _writer.WriteReadHeader(reply.Header, request);
            _writer.SendMapped(reply, inFlightBytes);
            _counters.Read(request.Length);
            return true;
        }
        finally
        {
            Array.Clear(segments, 0, NbdMappedReply.MaxSegments);
            ArrayPool<ReadSegment>.Shared.Return(segments);
        }
    }

    /// <summary>NBD_CMD_BLOCK_STATUS for "base:allocation": one chunk of (length, state) descriptors.</summary>
    private async ValueTask BlockStatusAsync(IBlockDevice device, NbdRequest request, long inFlightBytes, CancellationToken cancellationToken)
    {
        var reqOne = (request.Flags & NbdCommandFlags.ReqOne) != 0;
        var extents = ArrayPool<BlockExtent>.Shared.Rent(MaxExtents);
        var chunk = ArrayPool<byte>.Shared.Rent(BlockStatusReplySize);
        var handedOver = false;
        try
        {
            var offset = (long)request.Offset;
            var end = offset + request.Length;
            var count = 0;
            Exception? failure = null;
            try
            {
                // Ask again while the device stops short, merging runs of the same state.
                while (offset < end && count < MaxExtents && !(reqOne && count == 1))
                {
                    var got = await device.GetExtentsAsync(offset, end - offset, extents.AsMemory(count, MaxExtents - count), cancellationToken).ConfigureAwait(false);
                    if (got <= 0)
                    {
                        break;
                    }

                    for (var i = count; i < count + got; i++)
                    {
                        var extent = extents[i];
                        var clipped = Math.Min(extent.End, end) - extent.Offset;
                        extents[i] = extent with { Length = clipped };
                    }

                    count = Merge(extents, count, got);
                    if (count == 0 || extents[count - 1].End <= offset)
                    {
                        break; // the device made no progress
                    }

                    offset = extents[count - 1].End;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failure = e;
            }

            if (failure is not null || count == 0)
            {
                SendDeviceError(request, failure ?? new BlockDeviceException(BlockDeviceError.Io, "the device described no extent"), inFlightBytes);
                return;
            }

            if (reqOne)
            {
                count = 1;
            }

            if (extents[0].Offset != (long)request.Offset || extents[count - 1].End > end)
            {
                // A device broke the GetExtentsAsync contract; a wrong map would be worse than an error.
                SendDeviceError(request, new BlockDeviceException(BlockDeviceError.Io, $"the device described [{extents[0].Offset}, {extents[count - 1].End}) for [{request.Offset}, {end})"), inFlightBytes);
                return;
            }

            var position = NbdProtocol.StructuredReplyHeaderSize;
            BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(position), NbdProtocol.BaseAllocationContextId);
            position += 4;
            for (var i = 0; i < count; i++)
            {
                // Descriptor lengths are 32 bits; a longer extent is cut to a
                // length that keeps any power-of-two alignment (the client asks again).
                var length = (uint)Math.Min(extents[i].Length, 1L << 31);
                BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(position), length);
                BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(position + 4), (uint)extents[i].Flags);
                position += 8;
                if (length != extents[i].Length)
                {
                    break;
                }
            }

            NbdReplyWriter.WriteStructuredHeader(chunk, request.Cookie, NbdReplyFlags.Done, NbdReplyType.BlockStatus, (uint)(position - NbdProtocol.StructuredReplyHeaderSize));
            handedOver = true;
            _writer.Send(chunk, position, inFlightBytes);
        }
        finally
        {
            ArrayPool<BlockExtent>.Shared.Return(extents);
            if (!handedOver)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }
    }

    /// <summary>The largest BLOCK_STATUS reply, which is what one holds in flight.</summary>
    public const int BlockStatusReplySize = NbdProtocol.StructuredReplyHeaderSize + 4 + (8 * MaxExtents);

    /// <summary>Appends <paramref name="added"/> extents at <paramref name="count"/>, merging neighbours of the same state.</summary>
    private static int Merge(BlockExtent[] extents, int count, int added)
    {
        var stop = count + added;
        for (var i = count; i < stop; i++)
        {
            var extent = extents[i];
            if (extent.Length <= 0)
            {
                continue;
            }

            if (count > 0 && extents[count - 1].Flags == extent.Flags && extents[count - 1].End == extent.Offset)
            {
                extents[count - 1] = extents[count - 1] with { Length = extents[count - 1].Length + extent.Length };
            }
            else
            {
                extents[count++] = extent;
            }
        }

        return count;
    }

    /// <summary>A device failure, mapped to its NBD error in NbdErrors and logged once.</summary>
    private void SendDeviceError(NbdRequest request, Exception failure, long inFlightBytes)
    {
        if (failure is BlockDeviceException { Error: BlockDeviceError.Moved })
        {
            // No reply: the request fails out of RunAsync, which breaks the
            // connection; the client's connection keeper resends it to another server.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        var error = NbdErrors.FromException(failure);
        if (NbdErrors.IsExpected(failure))
        {
            NbdLog.RequestRefused(_logger, _info, request.Command, request.Offset, request.Length, error, failure.Message);
        }
        else
        {
            NbdLog.RequestFailed(_logger, _info, request.Command, request.Offset, request.Length, error, failure);
        }

        StreambootMetrics.Failed(StreambootMetrics.Nbd, NbdErrors.Label(error));
        _writer.SendError(request, error, failure.Message, inFlightBytes);
    }
}
