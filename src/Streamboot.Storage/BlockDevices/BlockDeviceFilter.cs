namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// A layer that passes every operation to the one below unless it overrides
/// it, as nbdkit's filters call "next": a filter names only what it changes
/// (counting, refusing, what disposal means). Mapped reads
/// (<see cref="IReadMapping"/>) pass through too, so a filter that overrides
/// <see cref="ReadAsync"/> overrides <see cref="TryMapRead"/> as well: a
/// mapped read is a read it would otherwise not see
/// (tests/Streamboot.Architecture.Tests checks this).
/// </summary>
public abstract class BlockDeviceFilter(IBlockDevice next) : IBlockDevice, IReadMapping
{
    protected IBlockDevice Next { get; } = next;

    public virtual long Size => Next.Size;

    public virtual BlockDeviceCapabilities Capabilities => Next.Capabilities;

    public virtual ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Next.ReadAsync(offset, buffer, cancellationToken);

    public virtual bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        count = 0;
        return Next is IReadMapping mapping && mapping.TryMapRead(offset, length, segments, out count);
    }

    public virtual ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        Next.WriteAsync(offset, data, flags, cancellationToken);

    public virtual ValueTask FlushAsync(CancellationToken cancellationToken = default) => Next.FlushAsync(cancellationToken);

    public virtual ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        Next.TrimAsync(offset, length, flags, cancellationToken);

    public virtual ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        Next.WriteZeroesAsync(offset, length, flags, cancellationToken);

    public virtual ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) =>
        Next.GetExtentsAsync(offset, length, extents, cancellationToken);

    /// <summary>Disposes the layer below; a filter over a shared layer overrides this.</summary>
    public virtual ValueTask DisposeAsync() => Next.DisposeAsync();
}
