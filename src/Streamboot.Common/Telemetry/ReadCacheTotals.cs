namespace Streamboot.Telemetry;

/// <summary>
/// Blocks served by every shared read cache of the process since it started:
/// from memory (hits) or from the layer below (misses). Each cache keeps its
/// own counts too, but caches close when their version goes unused; these
/// only grow, as a Prometheus counter must.
/// </summary>
public sealed class ReadCacheTotals
{
    private long _hits;
    private long _misses;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public void Hit(long blocks = 1) => Interlocked.Add(ref _hits, blocks);

    public void Miss() => Interlocked.Increment(ref _misses);
}
