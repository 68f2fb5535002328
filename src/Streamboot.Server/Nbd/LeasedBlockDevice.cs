using Streamboot.Server.Streaming;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Nbd;

/// <summary>
/// A session's device as one connection sees it: disposing it (the protocol
/// does, exactly once, however the connection ends) releases the
/// connection's lease on the shared session instead of closing the device.
/// </summary>
internal sealed class LeasedBlockDevice(SessionLease lease) : IBlockDevice
{
    private readonly IBlockDevice _inner = lease.Device;

    public long Size => _inner.Size;

    public BlockDeviceCapabilities Capabilities => _inner.Capabilities;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(offset, buffer, cancellationToken);

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(offset, data, flags, cancellationToken);

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => _inner.FlushAsync(cancellationToken);

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        _inner.TrimAsync(offset, length, flags, cancellationToken);

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        _inner.WriteZeroesAsync(offset, length, flags, cancellationToken);

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) =>
        _inner.GetExtentsAsync(offset, length, extents, cancellationToken);

    public ValueTask DisposeAsync() => lease.DisposeAsync();
}
