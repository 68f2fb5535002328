namespace Streamboot.Storage.BlockDevices;

/// <summary>
/// Test and benchmark only: delays every read by a fixed time, to emulate
/// slow shared storage (a SAN, an SMB share) under the read cache, where the
/// benefit of prefetching a boot profile shows. Never in a production stack
/// unless <c>STREAMBOOT_STORAGE_READ_LATENCY_MS</c> asks for it.
/// </summary>
public sealed class LatencyBlockDevice(IBlockDevice next, TimeSpan readLatency) : BlockDeviceFilter(next)
{
    public TimeSpan ReadLatency { get; } = readLatency;

    public override async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Delay(ReadLatency, cancellationToken).ConfigureAwait(false);
        await Next.ReadAsync(offset, buffer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Declined: a mapped read would skip the delay this layer exists for.</summary>
    public override bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        count = 0;
        return false;
    }
}
