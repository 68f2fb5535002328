using System.Buffers;
using System.IO.Compression;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Formats.Qcow2;

/// <summary>Reads and extents: L2 lookup, then file, backing image, zeroes or inflate.</summary>
public sealed partial class Qcow2Image
{
    private enum ClusterKind
    {
        Unallocated,
        Zero,
        Data,
        Compressed,
    }

    private ClusterKind Classify(ulong entry)
    {
        if (Qcow2L2Entry.IsCompressed(entry))
        {
            return ClusterKind.Compressed;
        }

        if (_version3 && (entry & Qcow2L2Entry.ZeroFlag) != 0)
        {
            return ClusterKind.Zero;
        }

        return (entry & Qcow2L2Entry.OffsetMask) == 0 ? ClusterKind.Unallocated : ClusterKind.Data;
    }

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, buffer.Length);

        // Fast path for the common small read inside one cluster: no async
        // state machine, and an unallocated cluster hands the request straight
        // to the backing image, so a deep chain costs one L2 look-up per layer.
        var inCluster = (int)(offset & (_clusterSize - 1));
        if (inCluster + buffer.Length <= _clusterSize)
        {
            var entry = GetL2Entry(offset >> _clusterBits);
            switch (Classify(entry))
            {
                case ClusterKind.Data:
                    ReadData(Qcow2L2Entry.HostOffset(entry) + inCluster, buffer.Span);
                    return default;
                case ClusterKind.Zero:
                    buffer.Span.Clear();
                    return default;
                case ClusterKind.Unallocated when _backing is not null && offset + buffer.Length <= _backingSize:
                    return _backing.ReadAsync(offset, buffer, cancellationToken);
                case ClusterKind.Unallocated when _backing is null:
                    buffer.Span.Clear();
                    return default;
                default:
                    break;
            }
        }

        return ReadCoreAsync(offset, buffer);
    }

    private async ValueTask ReadCoreAsync(long offset, Memory<byte> buffer)
    {
        var mask = _clusterSize - 1;
        while (!buffer.IsEmpty)
        {
            var clusterIndex = offset >> _clusterBits;
            var inCluster = (int)(offset & mask);
            var entry = GetL2Entry(clusterIndex);
            var kind = Classify(entry);
            var n = RunLength(clusterIndex, entry, kind, inCluster, buffer.Length);
            var piece = buffer[..n];
            switch (kind)
            {
                case ClusterKind.Data:
                    ReadData(Qcow2L2Entry.HostOffset(entry) + inCluster, piece.Span);
                    break;
                case ClusterKind.Zero:
                    piece.Span.Clear();
                    break;
                case ClusterKind.Unallocated:
                    await ReadBackingAsync(offset, piece).ConfigureAwait(false);
                    break;
                case ClusterKind.Compressed:
                    ReadCompressed(entry, inCluster, piece.Span);
                    break;
            }

            offset += n;
            buffer = buffer[n..];
        }
    }

    /// <summary>
    /// How many bytes from <paramref name="inCluster"/> of the cluster are one
    /// run of the same kind, up to <paramref name="remaining"/>: a sequentially
    /// written image has contiguous host clusters, so a 1 MiB read is one
    /// pread (or one file segment) instead of sixteen.
    /// </summary>
    private int RunLength(long clusterIndex, ulong entry, ClusterKind kind, int inCluster, int remaining)
    {
        var n = Math.Min(_clusterSize - inCluster, remaining);
        if (kind == ClusterKind.Compressed)
        {
            return n;
        }

        var expectedHost = Qcow2L2Entry.HostOffset(entry) + _clusterSize;
        while (n < remaining)
        {
            var next = GetL2Entry(++clusterIndex);
            if (Classify(next) != kind || (kind == ClusterKind.Data && Qcow2L2Entry.HostOffset(next) != expectedHost))
            {
                break;
            }

            expectedHost += _clusterSize;
            n = Math.Min(n + _clusterSize, remaining);
        }

        return n;
    }

    /// <summary>
    /// Data clusters map to ranges of this file (through its mapping), zero clusters to zeroes,
    /// unallocated ones to what the backing image maps (zeroes past its end);
    /// a compressed cluster, or a backing layer that cannot map, declines.
    /// </summary>
    public bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        count = 0;
        var mask = _clusterSize - 1;
        while (length > 0)
        {
            var clusterIndex = offset >> _clusterBits;
            var inCluster = (int)(offset & mask);
            var entry = GetL2Entry(clusterIndex);
            var kind = Classify(entry);
            var n = RunLength(clusterIndex, entry, kind, inCluster, length);
            switch (kind)
            {
                case ClusterKind.Data:
                    var host = Qcow2L2Entry.HostOffset(entry) + inCluster;
                    ThrowIfPastEnd(host);
                    // Through the mapping where the file holds every byte (as raw images do);
                    // a short last cluster goes as a file range, which the sender pads with
                    // zeroes past the end, as ReadData does.
                    var mapped = host + n <= Volatile.Read(ref _fileLength) && Mapping() is { } mapping && host + n <= mapping.Length;
                    var segment = mapped ? ReadSegment.FromMapping(_mapping!, host, n) : ReadSegment.FromFile(_handle, host, n);
                    if (!ReadSegment.TryAppend(segments, ref count, segment))
                    {
                        return false;
                    }

                    break;
                case ClusterKind.Zero:
                    if (!ReadSegment.TryAppend(segments, ref count, ReadSegment.Zeroes(n)))
                    {
                        return false;
                    }

                    break;
                case ClusterKind.Unallocated:
                    if (!TryMapBacking(offset, n, segments, ref count))
                    {
                        return false;
                    }

                    break;
                default:
                    return false;
            }

            offset += n;
            length -= n;
        }

        return true;
    }

    /// <summary>
    /// The file's mapping, made on first use; null when it cannot be mapped. A
    /// writable image maps room to grow by its virtual size, up to 16 GiB
    /// (address space, not memory; hundreds of sessions' overlays must fit in
    /// 128 TiB): clusters written later show through a shared mapping, and
    /// clusters past the mapped room go as file ranges (sendfile).
    /// </summary>
    private FileMapping? Mapping()
    {
        if (Volatile.Read(ref _mapping) is { } mapping)
        {
            return mapping;
        }

        if (Interlocked.Exchange(ref _mappingTried, 1) == 0)
        {
            var length = Volatile.Read(ref _fileLength) + (_readOnly ? 0 : Math.Min(Size, 16L << 30));
            Volatile.Write(ref _mapping, FileMapping.TryCreate(_handle, length));
        }

        return Volatile.Read(ref _mapping);
    }

    private bool TryMapBacking(long offset, int length, Span<ReadSegment> segments, ref int count)
    {
        if (_backing is null || offset >= _backingSize)
        {
            return ReadSegment.TryAppend(segments, ref count, ReadSegment.Zeroes(length));
        }

        var inBacking = (int)Math.Min(length, _backingSize - offset);
        if (_backing is not IReadMapping lower || !lower.TryMapRead(offset, inBacking, segments[count..], out var added))
        {
            return false;
        }

        count = ReadSegment.JoinAt(segments, count, count + added);
        return ReadSegment.TryAppend(segments, ref count, ReadSegment.Zeroes(length - inBacking));
    }

    private void ThrowIfPastEnd(long hostOffset)
    {
        if (hostOffset >= Volatile.Read(ref _fileLength))
        {
            throw Qcow2Header.Corrupt(Path, $"an L2 entry points to host offset {hostOffset}, past the end of the file ({_fileLength} bytes)");
        }
    }

    private void ReadData(long hostOffset, Span<byte> buffer)
    {
        ThrowIfPastEnd(hostOffset);

        try
        {
            while (!buffer.IsEmpty)
            {
                var n = RandomAccess.Read(_handle, buffer, hostOffset);
                if (n == 0)
                {
                    // The last data cluster may be shorter than a cluster in the file.
                    buffer.Clear();
                    return;
                }

                buffer = buffer[n..];
                hostOffset += n;
            }
        }
        catch (IOException e) when (e is not BlockDeviceException)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, $"{Path}: read at {hostOffset} failed: {e.Message}", e);
        }
    }

    /// <summary>Unallocated clusters show the backing image; past its end (or without one) they read as zeroes.</summary>
    private async ValueTask ReadBackingAsync(long offset, Memory<byte> buffer)
    {
        if (_backing is null || offset >= _backing.Size)
        {
            buffer.Span.Clear();
            return;
        }

        var inBacking = (int)Math.Min(buffer.Length, _backing.Size - offset);
        await _backing.ReadAsync(offset, buffer[..inBacking]).ConfigureAwait(false);
        buffer.Span[inBacking..].Clear();
    }

    /// <summary>
    /// Compressed cluster descriptor (qcow2.txt): with x = 62 - (cluster_bits - 8),
    /// bits 0..x-1 are the host offset (any byte), bits x..61 the number of
    /// 512-byte sectors after the one holding the offset. The data is a raw
    /// deflate stream (compression type zlib) of one whole cluster.
    /// </summary>
    private void ReadCompressed(ulong entry, int inCluster, Span<byte> destination)
    {
        var cluster = ArrayPool<byte>.Shared.Rent(_clusterSize);
        try
        {
            Decompress(entry, cluster.AsSpan(0, _clusterSize));
            cluster.AsSpan(inCluster, destination.Length).CopyTo(destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(cluster);
        }
    }

    private void Decompress(ulong entry, Span<byte> cluster)
    {
        var sizeShift = 62 - (_clusterBits - 8);
        var hostOffset = (long)(entry & ((1UL << sizeShift) - 1));
        var sectors = (long)((entry >> sizeShift) & ((1UL << (_clusterBits - 8)) - 1)) + 1;
        var length = (sectors * 512) - (hostOffset & 511);
        var fileLength = Volatile.Read(ref _fileLength);
        if (hostOffset >= fileLength)
        {
            throw Qcow2Header.Corrupt(Path, $"a compressed cluster at host offset {hostOffset} is past the end of the file ({fileLength} bytes)");
        }

        length = Math.Min(length, fileLength - hostOffset);
        var compressed = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            var n = 0;
            while (n < length)
            {
                var r = RandomAccess.Read(_handle, compressed.AsSpan(n, (int)length - n), hostOffset + n);
                if (r == 0)
                {
                    break;
                }

                n += r;
            }

            using var source = new MemoryStream(compressed, 0, n, writable: false);
            using var inflate = new DeflateStream(source, CompressionMode.Decompress);
            var produced = inflate.ReadAtLeast(cluster, cluster.Length, throwOnEndOfStream: false);
            if (produced < cluster.Length)
            {
                throw Qcow2Header.Corrupt(Path, $"the compressed cluster at host offset {hostOffset} inflates to {produced} bytes, not {cluster.Length}");
            }
        }
        catch (InvalidDataException e)
        {
            throw new BlockDeviceException(BlockDeviceError.Corrupt, $"{Path}: the compressed cluster at host offset {hostOffset} is not a valid deflate stream: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    public async ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default)
    {
        BlockDeviceException.ThrowIfOutOfRange(Size, offset, length);
        var end = offset + length;
        var count = 0;
        // Rented: every NBD_CMD_BLOCK_STATUS asks this, and a new array each time was all it allocated.
        var backingExtents = ArrayPool<BlockExtent>.Shared.Rent(BackingExtents);
        try
        {
            while (offset < end && count < extents.Length)
            {
                var clusterIndex = offset >> _clusterBits;
                var pieceEnd = Math.Min(end, (clusterIndex + 1) << _clusterBits);
                var kind = Classify(GetL2Entry(clusterIndex));
                while (pieceEnd < end && Classify(GetL2Entry(pieceEnd >> _clusterBits)) == kind)
                {
                    pieceEnd = Math.Min(end, pieceEnd + _clusterSize);
                }

                if (kind == ClusterKind.Unallocated && _backing is not null && offset < _backing.Size)
                {
                    // What the chain below says, up to the end of this unallocated run.
                    var inBacking = Math.Min(pieceEnd, _backing.Size) - offset;
                    var n = await _backing.GetExtentsAsync(offset, inBacking, backingExtents.AsMemory(0, BackingExtents), cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < n && count < extents.Length; i++)
                    {
                        count = Append(extents.Span, count, backingExtents[i]);
                    }

                    offset = extents.Span[count - 1].End;
                    continue;
                }

                var flags = kind switch
                {
                    ClusterKind.Unallocated => ExtentFlags.Hole | ExtentFlags.Zero,
                    ClusterKind.Zero => ExtentFlags.Zero,
                    _ => ExtentFlags.Data,
                };
                count = Append(extents.Span, count, new BlockExtent(offset, pieceEnd - offset, flags));
                offset = pieceEnd;
            }

            return count;
        }
        finally
        {
            ArrayPool<BlockExtent>.Shared.Return(backingExtents);
        }
    }

    /// <summary>How many extents one question to the backing file may answer with.</summary>
    private const int BackingExtents = 16;

    private static int Append(Span<BlockExtent> extents, int count, BlockExtent extent)
    {
        if (count > 0 && extents[count - 1].Flags == extent.Flags && extents[count - 1].End == extent.Offset)
        {
            extents[count - 1] = extents[count - 1] with { Length = extents[count - 1].Length + extent.Length };
            return count;
        }

        extents[count] = extent;
        return count + 1;
    }
}
