using System.Globalization;

namespace Streamboot.Storm;

/// <summary>
/// Samples a server and every process it forked (nbd-server forks one per
/// client, busybox httpd one per request) from /proc every 50 ms: resident
/// memory (VmRSS summed over the tree; the peak of the sums), threads, CPU
/// seconds (utime + stime) and storage reads (/proc/PID/io read_bytes). CPU
/// and reads are the sum of the last value seen of every process that was
/// ever in the tree, so a forked child that lived less than one sample
/// interval is missed: the peers' CPU and reads are a lower bound.
/// </summary>
internal sealed class ProcessSampler : IAsyncDisposable
{
    private static readonly double s_ticks = 100.0; // USER_HZ on Linux
    private readonly int[] _roots;
    private readonly Dictionary<int, (double Cpu, long ReadBytes)> _last = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <summary>Starts sampling the trees under <paramref name="roots"/>.</summary>
    public ProcessSampler(params int[] roots)
    {
        _roots = roots;
        Sample();
        BaselineRss = CurrentRss;
        BaselineCpu = CpuSeconds;
        BaselineReadBytes = ReadBytes;
        _loop = Task.Run(LoopAsync);
    }

    public long BaselineRss { get; }

    public double BaselineCpu { get; }

    public long BaselineReadBytes { get; }

    public long CurrentRss { get; private set; }

    public long PeakRss { get; private set; }

    public int PeakThreads { get; private set; }

    public int PeakProcesses { get; private set; }

    public double CpuSeconds => _last.Values.Sum(v => v.Cpu);

    public long ReadBytes => _last.Values.Sum(v => v.ReadBytes);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        await _loop;
        Sample();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Sample();
            try
            {
                await Task.Delay(50, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Sample()
    {
        var tree = Tree();
        long rss = 0;
        var threads = 0;
        foreach (var pid in tree)
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        rss += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                    }
                    else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                    {
                        threads += int.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                    }
                }

                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // Fields 14 and 15 of stat (utime, stime): 11 and 12 after the command.
                var cpu = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / s_ticks;
                long read = 0;
                foreach (var line in File.ReadLines($"/proc/{pid}/io"))
                {
                    if (line.StartsWith("read_bytes:", StringComparison.Ordinal))
                    {
                        read = long.Parse(line[11..].Trim(), CultureInfo.InvariantCulture);
                    }
                }

                lock (_last)
                {
                    _last[pid] = (cpu, read);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // The process ended between listing and reading.
            }
        }

        CurrentRss = rss;
        PeakRss = Math.Max(PeakRss, rss);
        PeakThreads = Math.Max(PeakThreads, threads);
        PeakProcesses = Math.Max(PeakProcesses, tree.Count);
    }

    private List<int> Tree()
    {
        var parents = new Dictionary<int, int>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // Gone meanwhile.
            }
        }

        var children = parents.ToLookup(p => p.Value, p => p.Key);
        var tree = new List<int>(_roots.Where(parents.ContainsKey));
        for (var i = 0; i < tree.Count; i++)
        {
            tree.AddRange(children[tree[i]]);
        }

        return tree;
    }
}
