namespace Streamboot.Server.Farm;

/// <summary>
/// A bandwidth limit shared by whoever calls it: each caller says how many
/// bytes it moved, and waits until the limit allows that many. Bursts of up
/// to one second's worth pass at once. 0 bytes/s: no limit.
/// </summary>
internal sealed class BytePacer(long bytesPerSecond, TimeProvider clock)
{
    private readonly Lock _lock = new();
    private DateTimeOffset _free = DateTimeOffset.MinValue;

    public static BytePacer FromMiB(int mibPerSecond, TimeProvider clock) => new(Math.Max(0, mibPerSecond) * (1L << 20), clock);

    public async ValueTask WaitAsync(int bytes, CancellationToken cancellationToken)
    {
        if (bytesPerSecond <= 0)
        {
            return;
        }

        TimeSpan wait;
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            // Unused time beyond one second is not saved up.
            var start = _free < now - TimeSpan.FromSeconds(1) ? now - TimeSpan.FromSeconds(1) : _free;
            _free = start + TimeSpan.FromSeconds((double)bytes / bytesPerSecond);
            wait = _free - now;
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, clock, cancellationToken);
        }
    }
}
