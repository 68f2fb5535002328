using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Streaming;

/// <summary>
/// Passes every operation to the device below and counts the bytes read and
/// written, for <c>streamboot session list</c>. Shared by all connections of
/// one session, so the counters are updated atomically.
/// </summary>
internal sealed class CountingBlockDevice(IBlockDevice inner) : IBlockDevice
{
    private long _bytesRead;
    private long _bytesWritten;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public IBlockDevice Inner => inner;

    public long Size => inner.Size;

    public BlockDeviceCapabilities Capabilities => inner.Capabilities;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _bytesRead, buffer.Length);
        return inner.ReadAsync(offset, buffer, cancellationToken);
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _bytesWritten, data.Length);
        return inner.WriteAsync(offset, data, flags, cancellationToken);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        inner.TrimAsync(offset, length, flags, cancellationToken);

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _bytesWritten, length);
        return inner.WriteZeroesAsync(offset, length, flags, cancellationToken);
    }

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) =>
        inner.GetExtentsAsync(offset, length, extents, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
