using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Nbd;

/// <summary>
/// For NBD_OPT_INFO only: the size and flags a session would have (writable
/// for a device's own view), with nothing opened behind them. Never used to
/// transmit.
/// </summary>
internal sealed class DescribedBlockDevice(long size, bool readOnly) : IBlockDevice
{
    public long Size => size;

    public BlockDeviceCapabilities Capabilities => readOnly
        ? BlockDeviceCapabilities.ReadOnly | BlockDeviceCapabilities.CanExtents
        : BlockDeviceCapabilities.CanFlush | BlockDeviceCapabilities.CanFua | BlockDeviceCapabilities.CanTrim | BlockDeviceCapabilities.CanZero | BlockDeviceCapabilities.CanExtents;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static InvalidOperationException NotForTransmission() => new("an NBD_OPT_INFO description is not a session");
}
