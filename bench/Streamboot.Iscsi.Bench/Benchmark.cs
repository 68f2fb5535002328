using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Streamboot.Bench;

namespace Streamboot.Iscsi.Bench;

/// <summary>
/// One run: a raw vDisk of random bytes in a fresh data folder, served by
/// <c>streamboot serve</c> with its defaults (only ports and the bind
/// address given) and by tgt (aio backing store) on the very same image
/// file; iscsi-perf (one session, 32 commands in flight, its default) reads
/// 1 MiB sequentially and 4 KiB at random from each, in interleaved rounds;
/// medians and the ratio Streamboot / tgt are printed. Streamboot is read
/// through a device's own view (CHAP with the credentials of its boot
/// script, its server-disk write cache over the version: what a booting
/// client reads) and through the vDisk's read-only view.
/// </summary>
internal static partial class Benchmark
{
    private const string Base = "iqn.2026-01.org.streamboot";

    public static async Task<int> RunAsync(int seconds, int rounds, int sizeMiB)
    {
        var root = FindRepository();
        var launcher = Path.Combine(root, "streamboot");
        var perf = Tool.Find("iscsi-perf", "libiscsi-bin");
        var tgtd = Tool.Find("tgtd", "tgt");
        var tgtadm = Tool.Find("tgtadm", "tgt");
        var data = Path.Combine(Path.GetTempPath(), $"streamboot-iscsi-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        Process? server = null;
        Process? tgt = null;
        try
        {
            Console.WriteLine($"setting up a {sizeMiB} MiB vDisk in {data}");
            await Tool.RunAsync(launcher, ["--data", data, "vdisk", "create", "bench", "--size", $"{sizeMiB}M", "--format", "raw"], root);
            await Tool.RunAsync(launcher, ["--data", data, "vdisk", "set", "bench", "--boot-protocol", "iscsi"], root);
            await Tool.RunAsync(launcher, ["--data", data, "device", "add", "52:54:00:be:00:01", "--name", "bench1"], root);
            await Tool.RunAsync(launcher, ["--data", data, "assign", "bench1", "bench"], root);
            var image = Directory.GetFiles(Path.Combine(data, "vdisks", "bench"), "*.raw").Single();
            await FillAsync(image, (long)sizeMiB << 20);

            var http = Tool.FreePort();
            var iscsi = Tool.FreePort();
            server = Tool.Start(launcher, ["--data", data, "serve", "--bind", "127.0.0.1", "--http-port", $"{http}", "--nbd-port", $"{Tool.FreePort()}", "--iscsi-port", $"{iscsi}"],
                new Dictionary<string, string> { ["STREAMBOOT_TFTP_PORT"] = "0" });
            var script = await BootScriptAsync($"http://127.0.0.1:{http}/boot.ipxe?mac=52:54:00:be:00:01");
            var password = Regex.Match(script, "\nset password ([^\n]+)\n").Groups[1].Value;

            var tgtPort = Tool.FreePort();
            var control = Random.Shared.Next(20000, 30000).ToString(CultureInfo.InvariantCulture);
            tgt = Tool.Start(tgtd, ["-f", "-C", control, "--iscsi", $"portal=127.0.0.1:{tgtPort}"]);
            await Task.Delay(500);
            await Tool.RunAsync(tgtadm, ["-C", control, "--lld", "iscsi", "--mode", "target", "--op", "new", "--tid", "1", "--targetname", "iqn.2026-01.bench.tgt:disk"]);
            await Tool.RunAsync(tgtadm, ["-C", control, "--lld", "iscsi", "--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "1", "--bstype", "aio", "-b", image]);
            await Tool.RunAsync(tgtadm, ["-C", control, "--lld", "iscsi", "--mode", "target", "--op", "bind", "--tid", "1", "-I", "ALL"]);

            var targets = new (string Name, string Url)[]
            {
                ("tgt (aio)", $"iscsi://127.0.0.1:{tgtPort}/iqn.2026-01.bench.tgt:disk/1"),
                ("streamboot, device view", $"iscsi://bench1%{password}@127.0.0.1:{iscsi}/{Base}:bench:bench1/0"),
                ("streamboot, read-only view", $"iscsi://127.0.0.1:{iscsi}/{Base}:bench/0"),
            };
            var workloads = new (string Name, string[] Arguments)[]
            {
                ("1 MiB sequential", ["-b", "2048"]),
                ("4 KiB random", ["-b", "8", "-r"]),
            };

            // Warm every path (page cache, the read cache, JIT) before measuring.
            foreach (var (_, url) in targets)
            {
                await PerfAsync(perf, url, ["-b", "2048"], Math.Max(2, seconds / 3));
            }

            var results = new Dictionary<(string, string), List<double>>();
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var (workload, arguments) in workloads)
                {
                    foreach (var (name, url) in targets)
                    {
                        var (iops, mbps) = await PerfAsync(perf, url, arguments, seconds);
                        var value = workload.StartsWith('1') ? mbps : iops;
                        (results.TryGetValue((workload, name), out var list) ? list : results[(workload, name)] = []).Add(value);
                        Console.WriteLine($"round {round}: {workload,-17} {name,-28} {value,10:N0} {(workload.StartsWith('1') ? "MB/s" : "IOPS")}");
                    }
                }
            }

            Console.WriteLine();
            Console.WriteLine($"medians of {rounds} rounds of {seconds} s (iscsi-perf, 32 in flight, one session; {sizeMiB} MiB image, page cache hot)");
            Console.WriteLine("| workload | target | median | ratio to tgt |");
            Console.WriteLine("| --- | --- | ---: | ---: |");
            foreach (var (workload, _) in workloads)
            {
                var reference = Median(results[(workload, targets[0].Name)]);
                foreach (var (name, _) in targets)
                {
                    var median = Median(results[(workload, name)]);
                    Console.WriteLine($"| {workload} | {name} | {median:N0} {(workload.StartsWith('1') ? "MB/s" : "IOPS")} | {median / reference:0.00}x |");
                }
            }

            // The RESULT lines for bench/run: each Streamboot view against tgt.
            Console.WriteLine();
            foreach (var (workload, _) in workloads)
            {
                var tgtMedian = Median(results[(workload, targets[0].Name)]);
                foreach (var (name, _) in targets.Skip(1))
                {
                    var row = name.Contains("device", StringComparison.Ordinal) ? "serve-device-view" : "serve-read-only-view";
                    var metric = workload.StartsWith('1') ? "iscsi-perf-1M-seq" : "iscsi-perf-4k-rand";
                    BenchResult.Print("iscsi", metric, workload.StartsWith('1') ? "MB/s" : "IOPS", row, "tgt", Median(results[(workload, name)]), tgtMedian);
                }
            }

            return 0;
        }
        finally
        {
            // tgtd ignores SIGTERM: both are ended by their PIDs.
            foreach (var process in new[] { tgt, server })
            {
                if (process is { HasExited: false })
                {
                    process.Kill();
                    await process.WaitForExitAsync();
                }

                process?.Dispose();
            }

            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<(double Iops, double MBps)> PerfAsync(string perf, string url, string[] arguments, int seconds)
    {
        var output = await Tool.RunAsync(perf, ["-t", seconds.ToString(CultureInfo.InvariantCulture), .. arguments, url], timeout: TimeSpan.FromSeconds(seconds + 60));
        var last = AverageLine().Matches(output).LastOrDefault() ?? throw new InvalidOperationException($"iscsi-perf said: {output}");
        return (double.Parse(last.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(last.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static async Task<string> BootScriptAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            try
            {
                return await http.GetStringAsync(url);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }

    private static async Task FillAsync(string path, long size)
    {
        var block = new byte[1 << 20];
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        for (long offset = 0; offset < size; offset += block.Length)
        {
            Random.Shared.NextBytes(block);
            await file.WriteAsync(block);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string FindRepository()
    {
        for (var folder = AppContext.BaseDirectory; folder is not null; folder = Path.GetDirectoryName(folder))
        {
            if (File.Exists(Path.Combine(folder, "Streamboot.slnx")))
            {
                return folder;
            }
        }

        throw new InvalidOperationException("run the bench from the repository's build output (it starts ./streamboot)");
    }

    [GeneratedRegex(@"iops average (\d+) \((\d+) MB/s\)")]
    private static partial Regex AverageLine();
}
