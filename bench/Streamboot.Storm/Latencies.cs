namespace Streamboot.Storm;

/// <summary>
/// Request latencies of one kind (HTTP or NBD), gathered per client without
/// locks and merged once at the end; percentiles by nearest rank.
/// </summary>
internal sealed class Latencies
{
    private readonly List<double[]> _parts = [];

    /// <summary>Adds one client's latencies in milliseconds.</summary>
    public void Add(IEnumerable<double> milliseconds)
    {
        var part = milliseconds.ToArray();
        lock (_parts)
        {
            _parts.Add(part);
        }
    }

    /// <summary>All latencies, sorted.</summary>
    public double[] Sorted()
    {
        var all = _parts.SelectMany(p => p).ToArray();
        Array.Sort(all);
        return all;
    }

    /// <summary>The nearest-rank percentile <paramref name="p"/> (0..100) of sorted values; NaN when there are none.</summary>
    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
