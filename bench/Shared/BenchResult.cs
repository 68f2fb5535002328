using System.Globalization;
using System.Text;

namespace Streamboot.Bench;

/// <summary>
/// The machine-readable summary line every bench prints beside its human
/// table, for <c>bench/run</c> to collect (format in bench/README.md):
/// <c>RESULT bench=nbd metric=nbdcopy unit=MB/s row=serve peer=nbdkit streamboot=2532 peer_value=2443 ratio=1.04 cpu=0.363 peer_cpu=0.363 cpu_ratio=1.00</c>.
/// Values never hold spaces (they become '_'), so a line splits on spaces
/// and then on the first '='. Linked into each bench project, which keeps
/// the benches free of a shared project reference.
/// </summary>
internal static class BenchResult
{
    /// <summary>
    /// Prints one comparison. <paramref name="ratio"/> is Streamboot / peer
    /// with higher better (for a time, pass peer / Streamboot); CPU seconds per
    /// GB are optional, and their ratio is peer / Streamboot so that higher is
    /// better there too. A missing peer prints "-" for its value and ratios.
    /// </summary>
    public static void Print(string bench, string metric, string unit, string row, string peer, double streamboot, double? peerValue, double? ratio = null, double? cpu = null, double? peerCpu = null)
    {
        var line = new StringBuilder("RESULT");
        Add(line, "bench", bench);
        Add(line, "metric", metric);
        Add(line, "unit", unit);
        Add(line, "row", row);
        Add(line, "peer", peer);
        Add(line, "streamboot", Format(streamboot, "0.###"));
        Add(line, "peer_value", Format(peerValue, "0.###"));
        Add(line, "ratio", Format(ratio ?? (peerValue is > 0 ? streamboot / peerValue : null), "0.00"));
        if (cpu is not null)
        {
            Add(line, "cpu", Format(cpu, "0.000"));
            Add(line, "peer_cpu", Format(peerCpu, "0.000"));
            Add(line, "cpu_ratio", Format(peerCpu is not null && cpu > 0 ? peerCpu / cpu : null, "0.00"));
        }

        Console.WriteLine(line.ToString());
    }

    private static void Add(StringBuilder line, string key, string value) =>
        line.Append(' ').Append(key).Append('=').Append(value.Length == 0 ? "-" : value.Replace(' ', '_'));

    private static string Format(double? value, string format) =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
