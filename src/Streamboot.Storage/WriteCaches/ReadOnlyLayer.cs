using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.WriteCaches;

/// <summary>
/// "Cache on the client's own disk": the client's boot component keeps its
/// writes locally, so the server only serves reads and refuses anything that
/// would change the shared image.
/// </summary>
public sealed class ReadOnlyLayer(IBlockDevice lower) : IBlockDevice, IReadMapping
{
    public long Size => lower.Size;

    /// <summary>Always 0: nothing is written on the server.</summary>
    public long BytesUsed => 0;

    public BlockDeviceCapabilities Capabilities =>
        BlockDeviceCapabilities.ReadOnly | (lower.Capabilities & (BlockDeviceCapabilities.CanExtents | BlockDeviceCapabilities.CanMultiConn));

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        lower.ReadAsync(offset, buffer, cancellationToken);

    public bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        count = 0;
        return lower is IReadMapping mapping && mapping.TryMapRead(offset, length, segments, out count);
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        throw Refuse();

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => default;

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        throw Refuse();

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        throw Refuse();

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) =>
        lower.GetExtentsAsync(offset, length, extents, cancellationToken);

    /// <summary>The lower layer is shared; it is not disposed here.</summary>
    public ValueTask DisposeAsync() => default;

    private static BlockDeviceException Refuse() =>
        new(BlockDeviceError.ReadOnly, "This vDisk is served read-only: the client keeps its writes on its own disk.");
}
