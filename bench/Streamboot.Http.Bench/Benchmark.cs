using System.Globalization;
using Streamboot.Bench;

namespace Streamboot.Http.Bench;

/// <summary>What a run measures: image size, seconds per timed run, rounds, client connections, servers by name.</summary>
internal sealed record BenchOptions(int SizeMiB, int Seconds, int Rounds, int Connections, string[] Servers);

/// <summary>
/// One run: a raw image of random bytes (read once, so the page cache is
/// hot), served at once by <c>streamboot serve</c> (defaults, the vDisk's
/// read-only HTTP view) and by static file servers on the same bytes; then
/// rounds, one server after the other (each round starting one server later,
/// so the shared machine's load falls on every server alike): 1 MiB
/// sequential ranges (MB/s, and the server's CPU seconds per GB from /proc)
/// and 4 KiB random ranges (requests per second). Medians and the ratio
/// Streamboot / peer taken round by round; every server is killed by its PID
/// at the end.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class Benchmark
{
    private const int Sequential = 1 << 20;
    private const int Small = 4096;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"streamboot-http-bench-{Environment.ProcessId}");
        var files = Path.Combine(folder, "www");
        Directory.CreateDirectory(files);
        var servers = new List<HttpServer>();
        try
        {
            var image = Path.Combine(files, "disk.raw");
            var size = CreateImage(image, options.SizeMiB);
            foreach (var name in options.Servers)
            {
                servers.Add(await HttpServers.StartAsync(name, image, folder));
            }

            // Warm every path (JIT, the read cache, page cache) before measuring.
            foreach (var server in servers)
            {
                await RangeClient.RunAsync(server.Url, size, Sequential, random: false, options.Connections, 1);
                await RangeClient.RunAsync(server.Url, size, Small, random: true, options.Connections, 1);
            }

            var samples = servers.ToDictionary(s => s.Name, _ => new List<Sample>(), StringComparer.Ordinal);
            for (var round = 1; round <= options.Rounds; round++)
            {
                var shift = (round - 1) % servers.Count;
                foreach (var server in servers.Skip(shift).Concat(servers.Take(shift)))
                {
                    var cpu = CpuSeconds(server.Process.Id);
                    var seq = await RangeClient.RunAsync(server.Url, size, Sequential, random: false, options.Connections, options.Seconds);
                    await Task.Delay(100); // a forking server's children are reaped into its counters
                    var cpuPerGb = server.CountsCpu ? (CpuSeconds(server.Process.Id) - cpu) / (seq.Bytes / 1e9) : double.NaN;
                    var rand = await RangeClient.RunAsync(server.Url, size, Small, random: true, options.Connections, options.Seconds);
                    samples[server.Name].Add(new Sample(round, seq.MBps, cpuPerGb, rand.RequestsPerSecond));
                    Console.Error.WriteLine($"round {round} {server.Name}: 1 MiB seq {seq.MBps:F0} MB/s ({cpuPerGb:F3} CPU s/GB), 4 KiB random {rand.RequestsPerSecond:F0} req/s, load {Load()}");
                }
            }

            Print(samples, options);
            return 0;
        }
        finally
        {
            foreach (var process in servers.Select(s => s.Process))
            {
                // Only the processes this bench started, by their PIDs.
                if (!process.HasExited)
                {
                    process.Kill();
                }

                await process.WaitForExitAsync();
                process.Dispose();
            }

            Directory.Delete(folder, recursive: true);
        }
    }

    private static void Print(Dictionary<string, List<Sample>> samples, BenchOptions options)
    {
        var c = options.Connections;
        Console.WriteLine();
        Console.WriteLine($"{options.SizeMiB} MiB image of random bytes, page cache hot, loopback, {c} keep-alive connections with one ranged GET in flight each, {options.Rounds} rounds of {options.Seconds} s; median (min-max)");
        Console.WriteLine("serve: `streamboot serve` defaults (qcow2 import, read cache 256 MiB), GET /vdisk/bench (the vDisk's read-only view); lighttpd, busybox httpd: the raw image as a static file");
        Console.WriteLine();
        Console.WriteLine("| server | 1 MiB sequential ranges: MB/s | server CPU s per GB | 4 KiB random ranges: requests/s |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var (name, list) in samples.Where(s => s.Value.Count > 0))
        {
            Console.WriteLine($"| {name} | {Spread(list.Select(s => s.Seq))} | {Spread(list.Select(s => s.Cpu), "F3")} | {Spread(list.Select(s => s.Random))} |");
        }

        if (!samples.TryGetValue("serve", out var ours))
        {
            return;
        }

        var results = new List<Action>();
        foreach (var (peer, theirs) in samples.Where(s => s.Key != "serve"))
        {
            var pairs = ours.Join(theirs, s => s.Round, t => t.Round, (s, t) => (Ours: s, Theirs: t)).ToList();
            Console.WriteLine($"| **serve / {peer}** | {Ratio(pairs.Select(p => p.Ours.Seq / p.Theirs.Seq))} | {Ratio(pairs.Select(p => p.Ours.Cpu / p.Theirs.Cpu))} | {Ratio(pairs.Select(p => p.Ours.Random / p.Theirs.Random))} |");
            results.Add(() =>
            {
                BenchResult.Print("http", $"range-1M-seq-c{c}", "MB/s", "serve", peer, Median(ours.Select(s => s.Seq)), Median(theirs.Select(s => s.Seq)),
                    Median(pairs.Select(p => p.Ours.Seq / p.Theirs.Seq)), Median(ours.Select(s => s.Cpu)), theirs.Any(s => double.IsNaN(s.Cpu)) ? null : Median(theirs.Select(s => s.Cpu)));
                BenchResult.Print("http", $"range-4k-rand-c{c}", "req/s", "serve", peer, Median(ours.Select(s => s.Random)), Median(theirs.Select(s => s.Random)),
                    Median(pairs.Select(p => p.Ours.Random / p.Theirs.Random)));
            });
        }

        Console.WriteLine();
        results.ForEach(r => r());
    }

    /// <summary>Random bytes written 1 MiB at a time, then read once so the page cache is hot.</summary>
    private static long CreateImage(string path, int sizeMiB)
    {
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20))
        {
            var block = new byte[1 << 20];
            var random = new Random(42);
            for (var i = 0; i < sizeMiB; i++)
            {
                random.NextBytes(block);
                file.Write(block);
            }
        }

        // Readable by all: busybox httpd and lighttpd may serve as another user.
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
        using var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var buffer = new byte[1 << 20];
        while (read.Read(buffer) > 0)
        {
        }

        return (long)sizeMiB << 20;
    }

    /// <summary>utime + stime of a process and its reaped children, from /proc/PID/stat.</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
            + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static string Spread(IEnumerable<double> values, string format = "F0")
    {
        var sorted = values.Order().ToList();
        if (sorted.Any(double.IsNaN))
        {
            return "(not counted)";
        }

        return sorted.Count == 1
            ? sorted[0].ToString(format, CultureInfo.InvariantCulture)
            : $"{Median(sorted).ToString(format, CultureInfo.InvariantCulture)} ({sorted[0].ToString(format, CultureInfo.InvariantCulture)}-{sorted[^1].ToString(format, CultureInfo.InvariantCulture)})";
    }

    private static string Ratio(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Any(double.IsNaN))
        {
            return "";
        }

        return sorted.Count == 1 ? $"{sorted[0]:F2}x" : $"{Median(sorted):F2}x ({sorted[0]:F2}-{sorted[^1]:F2})";
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private readonly record struct Sample(int Round, double Seq, double Cpu, double Random);
}
