using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Tests.Support;

/// <summary>A pass-through layer that counts the reads reaching it (and can slow them down).</summary>
public sealed class CountingDevice(IBlockDevice inner, int delayMs = 0) : IBlockDevice
{
    private long _reads;

    public long Reads => Interlocked.Read(ref _reads);

    public long Size => inner.Size;

    public BlockDeviceCapabilities Capabilities => inner.Capabilities;

    public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        if (delayMs > 0)
        {
            await Task.Delay(delayMs, cancellationToken);
        }

        await inner.ReadAsync(offset, buffer, cancellationToken);
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(offset, data, flags, cancellationToken);

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        inner.TrimAsync(offset, length, flags, cancellationToken);

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) =>
        inner.WriteZeroesAsync(offset, length, flags, cancellationToken);

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) =>
        inner.GetExtentsAsync(offset, length, extents, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
