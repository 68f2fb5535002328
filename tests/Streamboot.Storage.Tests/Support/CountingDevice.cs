using Streamboot.Storage.BlockDevices;

namespace Streamboot.Storage.Tests.Support;

/// <summary>A pass-through layer that counts the reads (mapped ones too) reaching it (and can slow them down).</summary>
public sealed class CountingDevice(IBlockDevice inner, int delayMs = 0) : BlockDeviceFilter(inner)
{
    private long _reads;

    public long Reads => Interlocked.Read(ref _reads);

    public override async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        if (delayMs > 0)
        {
            await Task.Delay(delayMs, cancellationToken);
        }

        await Next.ReadAsync(offset, buffer, cancellationToken);
    }

    public override bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        if (!base.TryMapRead(offset, length, segments, out count))
        {
            return false;
        }

        Interlocked.Increment(ref _reads);
        return true;
    }
}
