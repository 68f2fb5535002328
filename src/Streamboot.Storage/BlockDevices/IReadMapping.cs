namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// An optional capability of a layer: instead of copying a range into a
/// buffer, say where its bytes already are, as file ranges, unchanging
/// memory or zeroes (<see cref="ReadSegment"/>). A protocol can then hand a
/// file range to the kernel (sendfile(2): page cache straight into the
/// socket) instead of reading it into a buffer and writing the buffer out,
/// which was two copies of every byte served (bench/README.md).
/// </summary>
/// <remarks>
/// A layer implements it only where its bytes are at rest: a raw file, a
/// qcow2 image's data and zero clusters, a layer that passes reads through.
/// A layer that transforms bytes (compressed clusters) or holds blocks that
/// change in place (a write cache's own blocks) declines those ranges, and
/// the caller reads them with <see cref="IBlockDevice.ReadAsync"/>; a mapping
/// is all or nothing. Mapping counts as reading: a layer that watches reads
/// (profiles, counters) notes a mapped range as it notes a read one, once
/// the layers below have agreed to map it.
/// </remarks>
public interface IReadMapping
{
    /// <summary>
    /// Describes <c>[offset, offset + length)</c> as consecutive segments in
    /// <paramref name="segments"/> from index 0, <paramref name="count"/> of
    /// them, their lengths adding up to <paramref name="length"/>. False (with
    /// nothing to undo) when some part cannot be mapped or the segments would
    /// not fit. Throws <see cref="BlockDeviceException"/> where a read would
    /// (a range outside the device, corrupt metadata).
    /// </summary>
    bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count);
}
