namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// One layer of a block-device stack, in the spirit of nbdkit's plugins and
/// filters: an image format, a write cache or a read cache implements the
/// same small operation set and calls the layer below it. Protocols (NBD,
/// iSCSI, HTTP ranges) talk to the top of the stack and never know what is
/// underneath.
/// </summary>
/// <remarks>
/// Offsets and lengths are in bytes; callers keep every request inside
/// <c>[0, Size)</c> (layers check and throw <see cref="BlockDeviceException"/>
/// with <see cref="BlockDeviceError.OutOfRange"/>). Methods return
/// <see cref="ValueTask"/> because most layers complete synchronously from the
/// page cache: an awaited, already-completed ValueTask allocates nothing, which
/// keeps the read path free of per-request garbage. Failures are thrown as
/// <see cref="BlockDeviceException"/> so the protocol can map them to its own
/// error code in one place.
/// </remarks>
public interface IBlockDevice : IAsyncDisposable
{
    /// <summary>Virtual size in bytes. Fixed for the life of the device.</summary>
    long Size { get; }

    /// <summary>What this layer can do (read-only, trim, zero, FUA, ...).</summary>
    BlockDeviceCapabilities Capabilities { get; }

    /// <summary>Fills <paramref name="buffer"/> with the bytes at <paramref name="offset"/>.</summary>
    ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/>. With
    /// <see cref="WriteFlags.ForceUnitAccess"/> the data (and the metadata that
    /// makes it reachable) is durable when the call completes, like NBD_CMD_FLAG_FUA.
    /// </summary>
    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default);

    /// <summary>Makes every completed write durable (NBD_CMD_FLUSH, SCSI SYNCHRONIZE CACHE).</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Discards a range (NBD_CMD_TRIM, SCSI UNMAP). In Streamboot every layer
    /// reads a trimmed range back as zeroes, so trim never exposes older data
    /// from a backing image.
    /// </summary>
    ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes a range read as zeroes (NBD_CMD_WRITE_ZEROES, SCSI WRITE SAME).
    /// With <see cref="WriteFlags.MayTrim"/> the layer may deallocate instead of writing.
    /// </summary>
    ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default);

    /// <summary>
    /// Describes the range from <paramref name="offset"/> as consecutive extents
    /// (NBD "base:allocation", SEEK_DATA/SEEK_HOLE), filling at most
    /// <c>extents.Length</c> entries. The first extent starts at
    /// <paramref name="offset"/>; the extents may end before
    /// <c>offset + length</c> (the caller asks again) but never past <see cref="Size"/>.
    /// Returns the number of entries written (at least one when length &gt; 0).
    /// </summary>
    ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default);
}
