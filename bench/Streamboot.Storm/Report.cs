using System.Globalization;

namespace Streamboot.Storm;

/// <summary>Prints the storms as Markdown tables: one row a storm, then the ratios Streamboot / peer of each storm size.</summary>
internal static class Report
{
    /// <summary>The table of every storm, in the order run.</summary>
    public static void Print(TextWriter output, IReadOnlyList<StormResult> results)
    {
        output.WriteLine("| N | server | ok | errors | retries | last done s | MB/s | HTTP p50/p99/p999 ms | script p50/p99 ms | NBD p50/p99/p999 ms | boot p50/p99 s | peak RSS MiB | RSS/client KiB | CPU s | threads (procs) | storage read MB |");
        output.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            output.WriteLine(Invariant($"| {r.Clients} | {r.Server} | {r.Ok} | {r.Errors} | {r.Retries} | {r.Seconds:0.00} | {r.MBps:0} | {r.HttpP(50):0.0} / {r.HttpP(99):0.0} / {r.HttpP(99.9):0.0} | {r.ScriptP(50):0.0} / {r.ScriptP(99):0.0} | {r.NbdP(50):0.00} / {r.NbdP(99):0.0} / {r.NbdP(99.9):0.0} | {r.BootP(50):0.00} / {r.BootP(99):0.00} | {r.PeakRss / 1048576.0:0} | {r.RssPerClientKiB:0} | {r.CpuSeconds:0.0} | {r.PeakThreads} ({r.PeakProcesses}) | {r.StorageReadBytes / 1e6:0.0} |"));
        }

        output.WriteLine();
        output.WriteLine("Streamboot / peer, same storm size (time, latency, RSS, CPU: below 1 is better for Streamboot; MB/s: above 1):");
        output.WriteLine();
        output.WriteLine("| N | peer | last done | MB/s | HTTP p99 | NBD p99 | NBD p999 | peak RSS | CPU s |");
        output.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var group in results.GroupBy(r => r.Clients))
        {
            var us = group.FirstOrDefault(r => r.Server == "streamboot");
            if (us is null)
            {
                continue;
            }

            foreach (var peer in group.Where(r => r.Server != "streamboot"))
            {
                output.WriteLine(Invariant($"| {group.Key} | {peer.Server} | {us.Seconds / peer.Seconds:0.00}x | {us.MBps / peer.MBps:0.00}x | {us.HttpP(99) / peer.HttpP(99):0.00}x | {us.NbdP(99) / peer.NbdP(99):0.00}x | {us.NbdP(99.9) / peer.NbdP(99.9):0.00}x | {(double)us.PeakRss / peer.PeakRss:0.00}x | {us.CpuSeconds / peer.CpuSeconds:0.00}x |"));
            }
        }

        output.WriteLine();
        output.WriteLine("Where a client's boot went (seconds, p50 / p99 over the clients) and NBD writes and flushes alone (ms):");
        output.WriteLine();
        output.WriteLine("| N | server | script | kernel + initrds | NBD open | NBD replay | NBD WRITE p50/p99 ms | NBD FLUSH p50/p99 ms |");
        output.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            output.WriteLine(Invariant($"| {r.Clients} | {r.Server} | {r.PhaseP(0, 50):0.00} / {r.PhaseP(0, 99):0.00} | {r.PhaseP(1, 50):0.00} / {r.PhaseP(1, 99):0.00} | {r.PhaseP(2, 50):0.00} / {r.PhaseP(2, 99):0.00} | {r.PhaseP(3, 50):0.00} / {r.PhaseP(3, 99):0.00} | {r.WriteP(50):0.0} / {r.WriteP(99):0.0} | {r.FlushP(50):0.0} / {r.FlushP(99):0.0} |"));
        }

        var errors = results.Where(r => r.FirstErrors.Count > 0).ToList();
        if (errors.Count > 0)
        {
            output.WriteLine();
            foreach (var r in errors)
            {
                output.WriteLine($"errors of {r.Server} at N={r.Clients} (first {r.FirstErrors.Count}):");
                foreach (var e in r.FirstErrors)
                {
                    output.WriteLine($"  {e}");
                }
            }
        }
    }

    /// <summary>Whether the targets hold for Streamboot at <paramref name="clients"/>.</summary>
    public static void PrintTargets(TextWriter output, IReadOnlyList<StormResult> results, int clients)
    {
        var us = results.FirstOrDefault(r => r.Server == "streamboot" && r.Clients == clients);
        if (us is null)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine(Invariant($"targets at N={clients} (issue 14):"));
        output.WriteLine(Invariant($"  errors 0: {Verdict(us.Errors == 0)} ({us.Errors})"));
        output.WriteLine(Invariant($"  NBD p99 < 50 ms: {Verdict(us.NbdP(99) < 50)} ({us.NbdP(99):0.0} ms); HTTP p99 < 50 ms: {Verdict(us.HttpP(99) < 50)} ({us.HttpP(99):0.0} ms)"));
        output.WriteLine(Invariant($"  peak RSS < 1 GiB: {Verdict(us.PeakRss < 1L << 30)} ({us.PeakRss / 1048576.0:0} MiB)"));
        foreach (var peer in results.Where(r => r.Clients == clients && r.Server != "streamboot"))
        {
            output.WriteLine(Invariant($"  ahead of {peer.Server} (last client done sooner): {Verdict(us.Seconds < peer.Seconds)} ({us.Seconds:0.00} s vs {peer.Seconds:0.00} s)"));
        }

    }

    /// <summary>Whether Streamboot's time to the last client grew no faster than the bytes served, from each storm size to the next.</summary>
    public static void PrintGrowth(TextWriter output, IReadOnlyList<StormResult> results)
    {
        var sizes = results.Where(r => r.Server == "streamboot").OrderBy(r => r.Clients).ToList();
        for (var i = 1; i < sizes.Count; i++)
        {
            var time = sizes[i].Seconds / sizes[i - 1].Seconds;
            var bytes = (double)sizes[i].Bytes / sizes[i - 1].Bytes;
            output.WriteLine(Invariant($"  N {sizes[i - 1].Clients} -> {sizes[i].Clients}: time x{time:0.00}, bytes x{bytes:0.00}: time grows no faster than bytes: {Verdict(time <= bytes * 1.05)}"));
        }
    }

    private static string Verdict(bool met) => met ? "met" : "NOT met";

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The RESULT lines bench/run collects (format in bench/README.md), per
    /// storm size and peer: time until the last client finished and NBD p99
    /// (ratios peer / Streamboot: above 1 Streamboot is faster), aggregate
    /// MB/s (Streamboot / peer), and Streamboot's peak RSS and storage reads
    /// against the peer's.
    /// </summary>
    public static void PrintResultLines(IReadOnlyList<StormResult> results)
    {
        foreach (var mine in results.Where(r => r.Server == "streamboot"))
        {
            foreach (var peer in results.Where(r => r.Server != "streamboot" && r.Clients == mine.Clients))
            {
                var row = $"serve N={mine.Clients}";
                Streamboot.Bench.BenchResult.Print("storm", "last-client-done", "s", row, peer.Server, mine.Seconds, peer.Seconds, peer.Seconds / mine.Seconds);
                Streamboot.Bench.BenchResult.Print("storm", "MB/s", "MB/s", row, peer.Server, mine.MBps, peer.MBps);
                Streamboot.Bench.BenchResult.Print("storm", "nbd-p99", "ms", row, peer.Server, mine.NbdP(99), peer.NbdP(99), peer.NbdP(99) / mine.NbdP(99));
                Streamboot.Bench.BenchResult.Print("storm", "peak-rss", "MiB", row, peer.Server, mine.PeakRss / 1048576.0, peer.PeakRss / 1048576.0, (double)peer.PeakRss / mine.PeakRss);
                Streamboot.Bench.BenchResult.Print("storm", "storage-reads", "MB", row, peer.Server, mine.StorageReadBytes / 1e6, peer.StorageReadBytes / 1e6, mine.StorageReadBytes > 0 ? (double)peer.StorageReadBytes / mine.StorageReadBytes : null);
            }
        }
    }
}
