using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Nbd;

/// <summary>
/// For NBD_OPT_INFO only: the version chain opened read-only, presenting the
/// flags a session would have (writable for a device's own view) without
/// opening a session or a write cache. Never used to transmit.
/// </summary>
internal sealed class DescribedBlockDevice(IBlockDevice chain, bool readOnly) : BlockDeviceFilter(chain)
{
    public override BlockDeviceCapabilities Capabilities => readOnly
        ? Next.Capabilities | BlockDeviceCapabilities.ReadOnly
        : (Next.Capabilities & ~BlockDeviceCapabilities.ReadOnly) | BlockDeviceCapabilities.CanFlush | BlockDeviceCapabilities.CanFua | BlockDeviceCapabilities.CanTrim | BlockDeviceCapabilities.CanZero;

    public override ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public override ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public override ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    public override ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default) => throw NotForTransmission();

    private static InvalidOperationException NotForTransmission() => new("an NBD_OPT_INFO description is not a session");
}
