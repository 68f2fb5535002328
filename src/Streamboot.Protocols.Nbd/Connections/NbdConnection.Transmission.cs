using System.Buffers;
using System.Buffers.Binary;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Connections;

// Transmission phase, doc/proto.md "Transmission": one reader takes requests
// off the stream in order and starts each as it arrives; up to
// MaxRequestsInFlight run at once and reply in whatever order they finish.
// Against a device that completes synchronously (a raw file in the page cache)
// a request runs to its reply inline, which is the cheapest path there is.
internal sealed partial class NbdConnection
{
    private const int MaxExtents = 1024;
    private const int OffloadThreshold = 128 * 1024;
    private int _minimumBlockSize = 1;
    private SemaphoreSlim? _slots;
    private SemaphoreSlim? _largeSlots;
    private CancellationTokenSource? _broken;

    private async ValueTask TransmitAsync(CancellationToken cancellationToken)
    {
        var export = _export!;
        _slots = new SemaphoreSlim(_options.MaxRequestsInFlight, _options.MaxRequestsInFlight);
        _largeSlots = new SemaphoreSlim(_options.MaxLargeRequestsInFlight, _options.MaxLargeRequestsInFlight);
        // Cancelled when the server stops or a reply cannot be sent (the client is gone).
        _broken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = _broken.Token;
        StartBatching();
        try
        {
            while (true)
            {
                if (_input.Buffered < NbdProtocol.RequestHeaderSize)
                {
                    FlushBatch(); // about to wait for the client: it must have every reply first
                }

                if (!await _input.EnsureAsync(NbdProtocol.RequestHeaderSize, token).ConfigureAwait(false))
                {
                    // A stopping server closes the stream under a blocking read, which then sees an end.
                    _endReason = cancellationToken.IsCancellationRequested ? NbdSessionEndReason.ServerStopped : NbdSessionEndReason.ConnectionLost;
                    return;
                }

                var request = NbdRequest.Parse(_input.Peek(NbdProtocol.RequestHeaderSize));
                _input.Advance(NbdProtocol.RequestHeaderSize);
                if (request.Magic != NbdProtocol.RequestMagic)
                {
                    // Out of sync with the client: nothing after this can be trusted.
                    _endReason = NbdSessionEndReason.ProtocolError;
                    throw new NbdProtocolException($"bad request magic 0x{request.Magic:x8}");
                }

                _requests++;
                if (request.Command == NbdCommand.Disc)
                {
                    // No reply; outstanding requests are finished below before the close.
                    _endReason = NbdSessionEndReason.Disconnected;
                    return;
                }

                if ((request.Flags & NbdCommandFlags.PayloadLen) != 0)
                {
                    // Only meaningful with extended headers, which are not offered:
                    // the payload length cannot be trusted, so neither can the stream.
                    _endReason = NbdSessionEndReason.ProtocolError;
                    throw new NbdProtocolException("NBD_CMD_FLAG_PAYLOAD_LEN without extended headers");
                }

                var large = request.Length > _options.LargeRequestThreshold;
                // A connection with its own thread waits on it: its loop must not move to the pool.
                if (_blocking)
                {
                    if (_slots.CurrentCount == 0)
                    {
                        FlushBatch();
                    }

                    _slots.Wait(token);
                }
                else
                {
                    await _slots.WaitAsync(token).ConfigureAwait(false);
                }

                if (large)
                {
                    try
                    {
                        if (_blocking)
                        {
                            _largeSlots.Wait(token);
                        }
                        else
                        {
                            await _largeSlots.WaitAsync(token).ConfigureAwait(false);
                        }
                    }
                    catch
                    {
                        _slots.Release();
                        throw;
                    }
                }

                var (error, reason) = Validate(export, request);
                byte[]? payload = null;
                try
                {
                    if (request.Command == NbdCommand.Write)
                    {
                        if (_input.Buffered < request.Length)
                        {
                            FlushBatch();
                        }

                        if (error != NbdError.None)
                        {
                            // Refused writes still carry their payload: read past it, never hold it.
                            await _input.SkipAsync(request.Length, token).ConfigureAwait(false);
                        }
                        else
                        {
                            payload = ArrayPool<byte>.Shared.Rent((int)request.Length);
                            await _input.ReadExactlyAsync(payload.AsMemory(0, (int)request.Length), token).ConfigureAwait(false);
                        }
                    }
                }
                catch
                {
                    // The client vanished mid-payload: the request never started.
                    if (payload is not null)
                    {
                        ArrayPool<byte>.Shared.Return(payload);
                    }

                    Release(large);
                    throw;
                }

                if (error == NbdError.None && request.Command == NbdCommand.Read && TryReadMapped(export, request, token))
                {
                    Release(large);
                    continue;
                }

                // A big read is mostly copying (page cache to buffer, buffer to socket): on a
                // worker it overlaps with the next requests instead of queueing behind them.
                if (_workers is not null && error == NbdError.None && request.Command == NbdCommand.Read && request.Length >= OffloadThreshold)
                {
                    _workers.Queue(new OffloadedRead(this, export, request, large, token));
                    continue;
                }

                var running = error == NbdError.None
                    ? RunAsync(export, request, payload, large, token)
                    : RefuseAsync(request, error, reason, large, token);
                if (running.IsCompleted)
                {
                    running.GetAwaiter().GetResult();
                }
                else
                {
                    _ = running.AsTask();
                }
            }
        }
        finally
        {
            try
            {
                FlushBatch();
            }
            catch (Exception e) when (IsConnectionFailure(e))
            {
                // The client is gone; its replies with it.
            }

            await DrainAsync().ConfigureAwait(false);
            StopBatching();
            ClearOutbox();
        }
    }

    /// <summary>Waits until every started request has replied (or failed to).</summary>
    private async ValueTask DrainAsync()
    {
        for (var i = 0; i < _options.MaxRequestsInFlight; i++)
        {
            await _slots!.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The checks doc/proto.md asks of every request before it touches the device.</summary>
    private (NbdError Error, string Reason) Validate(NbdExport export, NbdRequest request)
    {
        var command = request.Command;
        var flags = request.Flags;
        var size = (ulong)export.Device.Size;
        var isWrite = command is NbdCommand.Write or NbdCommand.Trim or NbdCommand.WriteZeroes;
        switch (command)
        {
            case NbdCommand.Read or NbdCommand.Write or NbdCommand.Flush or NbdCommand.Trim
                or NbdCommand.Cache or NbdCommand.WriteZeroes or NbdCommand.BlockStatus:
                break;
            default:
                return (NbdError.Inval, $"unknown command {(ushort)command}");
        }

        const NbdCommandFlags Known = NbdCommandFlags.Fua | NbdCommandFlags.NoHole | NbdCommandFlags.Df
            | NbdCommandFlags.ReqOne | NbdCommandFlags.FastZero;
        if ((flags & ~Known) != 0)
        {
            return (NbdError.Inval, $"unknown flags 0x{(ushort)flags:x}");
        }

        if ((flags & NbdCommandFlags.Df) != 0 && (command != NbdCommand.Read || !_structuredReplies))
        {
            return (NbdError.Inval, "NBD_CMD_FLAG_DF is only for NBD_CMD_READ with structured replies");
        }

        if ((flags & NbdCommandFlags.ReqOne) != 0 && command != NbdCommand.BlockStatus)
        {
            return (NbdError.Inval, "NBD_CMD_FLAG_REQ_ONE is only for NBD_CMD_BLOCK_STATUS");
        }

        if ((flags & (NbdCommandFlags.NoHole | NbdCommandFlags.FastZero)) != 0 && command != NbdCommand.WriteZeroes)
        {
            return (NbdError.Inval, "NBD_CMD_FLAG_NO_HOLE and FAST_ZERO are only for NBD_CMD_WRITE_ZEROES");
        }

        if (isWrite && IsReadOnly(export))
        {
            return (NbdError.Perm, "the export is read-only");
        }

        if (command == NbdCommand.Flush)
        {
            return (NbdError.None, "");
        }

        if (command is NbdCommand.Read or NbdCommand.Write && request.Length > (uint)_options.MaxPayloadSize)
        {
            // EOVERFLOW is the structured-reply era's answer to "too large"; simple-reply clients know EINVAL.
            return (_structuredReplies ? NbdError.Overflow : NbdError.Inval, $"length {request.Length} is over the maximum of {_options.MaxPayloadSize}");
        }

        if (request.Length == 0 && command is NbdCommand.BlockStatus)
        {
            return (NbdError.Inval, "zero-length NBD_CMD_BLOCK_STATUS");
        }

        if (request.Offset > size || request.Length > size - request.Offset)
        {
            // Writes past the end are ENOSPC ("no room"), everything else EINVAL.
            return (isWrite ? NbdError.NoSpc : NbdError.Inval, $"[{request.Offset}, +{request.Length}) is past the end of the export ({size} bytes)");
        }

        var mask = (ulong)(_minimumBlockSize - 1);
        if (((request.Offset | request.Length) & mask) != 0)
        {
            return (NbdError.Inval, $"not aligned to the minimum block size {_minimumBlockSize}");
        }

        if ((flags & NbdCommandFlags.FastZero) != 0 && (export.Device.Capabilities & BlockDeviceCapabilities.CanZero) == 0)
        {
            return (NbdError.NotSup, "the device cannot zero faster than writing");
        }

        if (command == NbdCommand.BlockStatus && (!_structuredReplies || !_baseAllocation))
        {
            return (NbdError.Inval, "NBD_CMD_BLOCK_STATUS needs structured replies and the base:allocation context");
        }

        return (NbdError.None, "");
    }

    private async ValueTask RefuseAsync(NbdRequest request, NbdError error, string reason, bool large, CancellationToken cancellationToken)
    {
        try
        {
            NbdLog.RequestRefused(_logger, _info, request.Command, request.Offset, request.Length, error, reason);
            await SendErrorAsync(request, error, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Break(e);
        }
        finally
        {
            Release(large);
        }
    }

    private async ValueTask RunAsync(NbdExport export, NbdRequest request, byte[]? payload, bool large, CancellationToken cancellationToken)
    {
        try
        {
            switch (request.Command)
            {
                case NbdCommand.Read:
                    await ReadAsync(export.Device, request, cancellationToken).ConfigureAwait(false);
                    return;
                case NbdCommand.BlockStatus:
                    await BlockStatusAsync(export.Device, request, cancellationToken).ConfigureAwait(false);
                    return;
            }

            Exception? failure = null;
            try
            {
                await ExecuteAsync(export.Device, request, payload, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failure = e;
            }

            if (failure is null)
            {
                await SendSimpleReplyAsync(request.Cookie, NbdError.None, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await SendDeviceErrorAsync(request, failure, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            Break(e);
        }
        finally
        {
            if (payload is not null)
            {
                ArrayPool<byte>.Shared.Return(payload);
            }

            Release(large);
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
                Interlocked.Add(ref _bytesWritten, length);
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

        if (fua && !deviceFua)
        {
            await device.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>NBD_CMD_CACHE: read the range once so the layers below (page cache, read cache) hold it.</summary>
    private static async ValueTask CacheAsync(IBlockDevice device, long offset, long length, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, 1024 * 1024));
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

    /// <summary>
    /// NBD_CMD_READ: the device reads straight into the reply buffer behind
    /// room for the header, so the reply is one write and no copy.
    /// </summary>
    private async ValueTask ReadAsync(IBlockDevice device, NbdRequest request, CancellationToken cancellationToken)
    {
        var length = (int)request.Length;
        var headerSize = _structuredReplies ? NbdProtocol.StructuredReplyHeaderSize + 8 : NbdProtocol.SimpleReplyHeaderSize;
        var buffer = ArrayPool<byte>.Shared.Rent(headerSize + length);
        var posted = false;
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
                await SendDeviceErrorAsync(request, failure, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (length == 0 && _structuredReplies)
            {
                // An OFFSET_DATA chunk may not be empty: a zero-length read is just "done".
                await SendStructuredNoneAsync(request.Cookie, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (_structuredReplies)
            {
                WriteStructuredHeader(buffer, request.Cookie, NbdReplyFlags.Done, NbdReplyType.OffsetData, 8 + (uint)length);
                BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(NbdProtocol.StructuredReplyHeaderSize), request.Offset);
            }
            else
            {
                WriteSimpleHeader(buffer, request.Cookie, NbdError.None);
            }

            if (CanBatch(headerSize + length))
            {
                buffer.AsSpan(0, headerSize + length).CopyTo(BatchSpan(headerSize + length));
            }
            else if (_workers is not null && length >= OffloadThreshold)
            {
                posted = true;
                Post(buffer, headerSize + length);
            }
            else
            {
                await SendAsync(buffer.AsMemory(0, headerSize + length), cancellationToken).ConfigureAwait(false);
            }

            Interlocked.Add(ref _bytesRead, length);
        }
        finally
        {
            if (!posted)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>NBD_CMD_BLOCK_STATUS for "base:allocation": one chunk of (length, state) descriptors.</summary>
    private async ValueTask BlockStatusAsync(IBlockDevice device, NbdRequest request, CancellationToken cancellationToken)
    {
        var reqOne = (request.Flags & NbdCommandFlags.ReqOne) != 0;
        var extents = ArrayPool<BlockExtent>.Shared.Rent(MaxExtents);
        var chunk = ArrayPool<byte>.Shared.Rent(NbdProtocol.StructuredReplyHeaderSize + 4 + (8 * MaxExtents));
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
                await SendDeviceErrorAsync(request, failure ?? new BlockDeviceException(BlockDeviceError.Io, "the device described no extent"), cancellationToken).ConfigureAwait(false);
                return;
            }

            if (reqOne)
            {
                count = 1;
            }

            if (extents[0].Offset != (long)request.Offset || extents[count - 1].End > end)
            {
                // A device broke the GetExtentsAsync contract; a wrong map would be worse than an error.
                await SendDeviceErrorAsync(request, new BlockDeviceException(BlockDeviceError.Io, $"the device described [{extents[0].Offset}, {extents[count - 1].End}) for [{request.Offset}, {end})"), cancellationToken).ConfigureAwait(false);
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

            WriteStructuredHeader(chunk, request.Cookie, NbdReplyFlags.Done, NbdReplyType.BlockStatus, (uint)(position - NbdProtocol.StructuredReplyHeaderSize));
            await SendAsync(chunk.AsMemory(0, position), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<BlockExtent>.Shared.Return(extents);
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

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

    private void Release(bool large)
    {
        if (large)
        {
            _largeSlots!.Release();
        }

        _slots!.Release();
    }

    /// <summary>A reply could not be sent: the connection is done; stop reading requests.</summary>
    private void Break(Exception e)
    {
        if (e is not OperationCanceledException)
        {
            if (IsConnectionFailure(e))
            {
                NbdLog.SendFailed(_logger, _info, e);
            }
            else
            {
                NbdLog.Unexpected(_logger, _info, e);
            }
        }

        try
        {
            _broken?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>A big read handed to <see cref="NbdWorkers"/>.</summary>
    private sealed class OffloadedRead(NbdConnection connection, NbdExport export, NbdRequest request, bool large, CancellationToken token) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            var running = connection.RunAsync(export, request, null, large, token);
            if (running.IsCompleted)
            {
                running.GetAwaiter().GetResult();
            }
            else
            {
                _ = running.AsTask();
            }
        }
    }
}
