using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// One connection's handle on an export's device, shared by all its
/// connections as the server layer shares a session's device (writable
/// images open exclusively, so two opens of one file would refuse). The
/// device is flushed and closed when the last handle is disposed.
/// </summary>
internal sealed class SharedDevice(IBlockDevice inner, Func<ValueTask> release) : IBlockDevice
{
    private int _disposed;

    public long Size => inner.Size;

    public BlockDeviceCapabilities Capabilities => inner.Capabilities;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(offset, buffer, cancellationToken);

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(offset, data, flags, cancellationToken);

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        inner.TrimAsync(offset, length, flags, cancellationToken);

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        inner.WriteZeroesAsync(offset, length, flags, cancellationToken);

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) =>
        inner.GetExtentsAsync(offset, length, extents, cancellationToken);

    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _disposed, 1) == 0 ? release() : ValueTask.CompletedTask;
}
