using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Nbd;

/// <summary>
/// For NBD_OPT_INFO only: the version chain opened read-only, presenting the
/// flags a session would have (writable for a device's own view) without
/// opening a session or a write cache. Never used to transmit.
/// </summary>
internal sealed class DescribedBlockDevice(IBlockDevice chain, bool readOnly) : IBlockDevice
{
    public long Size => chain.Size;

    public BlockDeviceCapabilities Capabilities => readOnly
        ? chain.Capabilities | BlockDeviceCapabilities.ReadOnly
        : (chain.Capabilities & ~BlockDeviceCapabilities.ReadOnly) | BlockDeviceCapabilities.CanFlush | BlockDeviceCapabilities.CanFua | BlockDeviceCapabilities.CanTrim | BlockDeviceCapabilities.CanZero;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) => chain.ReadAsync(offset, buffer, cancellationToken);

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) =>
        chain.GetExtentsAsync(offset, length, extents, cancellationToken);

    public ValueTask DisposeAsync() => chain.DisposeAsync();

    private static InvalidOperationException NotForTransmission() => new("an NBD_OPT_INFO description is not a session");
}
