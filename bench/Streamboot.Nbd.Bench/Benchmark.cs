using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Streamboot.Bench;

namespace Streamboot.Nbd.Bench;

/// <summary>
/// One run, several servers on the same hot 1 GiB raw image: Streamboot (this
/// program in "serve" mode, its own process; raw and through the session
/// stack), nbdkit's file plugin, qemu-nbd and nbd-server (read-only export). All are started at once on free
/// loopback ports and measured in rounds, one server after the other within a
/// round (each round starting one server later), so a change in the machine's
/// load (it is shared) falls on every server alike; each is killed by PID at
/// the end. Per round: nbdcopy to null: (MB/s and server CPU per GB, over --copies copies, 5 by default) and fio's
/// nbd engine: 1 MiB sequential reads at queue depth 8 (MB/s) and 4 KiB random
/// reads at queue depth 16 (IOPS).
/// </summary>
internal static class Benchmark
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    private static readonly string[] s_defaultServers = ["serve", "serve device", "serve raw", "serve cache-off", "serve cache-fits", "streamboot chain+cache", "streamboot", "nbdkit", "qemu-nbd", "nbd-server"];

    /// <summary>The peers every Streamboot row is compared with in the RESULT lines.</summary>
    private static readonly string[] s_peers = ["nbdkit", "qemu-nbd", "nbd-server"];

    /// <summary>
    /// The product as users run it: <c>streamboot serve</c> with its defaults on
    /// a data folder of its own, the image imported with <c>vdisk import</c>,
    /// read through the read-only view <c>bench</c>; the variants change one
    /// setting each: a raw import, the read cache off, a read cache the disk fits in.
    /// </summary>
    private static readonly Dictionary<string, (string? Format, string? ReadCacheMiB)> s_serveRows = new(StringComparer.Ordinal)
    {
        ["serve"] = (null, null),
        ["serve raw"] = ("raw", null),
        ["serve cache-off"] = ("raw", "0"),
        ["serve cache-fits"] = ("raw", "FITS"),
        // A device's own view (a booting client's): write cache over the read cache over a two-version chain.
        ["serve device"] = (null, null),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["bench", ..])
        {
            Console.Error.WriteLine("usage: Streamboot.Nbd.Bench bench [--size-mib N] [--runtime S] [--rounds N] [--copies N] [--servers NAME,NAME...] [--baseline BUILD_DIR] | serve FILE PORT [--read-only] [--copy] [--socket-buffer BYTES]");
            return args.Length == 0 ? 0 : 2;
        }

        var sizeMiB = Option(args, "--size-mib", 1024);
        var runtime = Option(args, "--runtime", 5);
        var rounds = Option(args, "--rounds", 3);
        var copies = Option(args, "--copies", 5);
        var serverIndex = Array.IndexOf(args, "--servers");
        var names = serverIndex >= 0 && serverIndex + 1 < args.Length
            ? args[serverIndex + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : s_defaultServers;
        var baselineIndex = Array.IndexOf(args, "--baseline");
        var baseline = baselineIndex >= 0 && baselineIndex + 1 < args.Length ? Path.GetFullPath(args[baselineIndex + 1]) : null;
        if (baseline is not null)
        {
            // The same servers from another build of this bench (an earlier commit), measured in the same rounds.
            names = [.. names, .. names.Where(n => n.StartsWith("streamboot", StringComparison.Ordinal)).Select(n => n + " before")];
        }

        var folder = Path.Combine(Path.GetTempPath(), $"streamboot-nbd-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        var started = new List<Server>();
        try
        {
            var image = Path.Combine(folder, "disk.raw");
            CreateImage(image, sizeMiB);
            string? chainTop = null;
            if (names.Any(n => n.StartsWith("streamboot chain+cache", StringComparison.Ordinal)))
            {
                chainTop = await SessionStack.BuildChainAsync(image, folder);
            }

            foreach (var name in names)
            {
                var port = FreePort();
                Server server;
                if (s_serveRows.TryGetValue(name, out var row))
                {
                    var (file, arguments, environment) = await ServeAsync(name, row.Format, row.ReadCacheMiB, port, image, sizeMiB, folder);
                    server = new Server(name, port, file, arguments) { Export = "bench", Environment = environment, Process = StartServer(file, arguments, environment) };
                    if (name == "serve device")
                    {
                        await WaitForPortAsync(port, server.Process);
                        server.Export = await DeviceView.ExportAsync(int.Parse(arguments[Array.IndexOf(arguments, "--http-port") + 1], s_invariant));
                    }
                }
                else if (name == "nbd-server")
                {
                    var (file, arguments) = NbdServerPeer.Command(port, image, folder);
                    server = new Server(name, port, file, arguments) { Export = NbdServerPeer.Export, Process = await NbdServerPeer.StartAsync(file, arguments) };
                }
                else
                {
                    var (file, arguments) = Command(name, port, image, chainTop, folder, baseline);
                    server = new Server(name, port, file, arguments) { Process = StartServer(file, arguments) };
                }

                started.Add(server);
                await WaitForPortAsync(port, server.Process);
            }

            foreach (var server in started)
            {
                await WarmUpAsync(server.Url, sizeMiB);
            }

            var results = names.ToDictionary(n => n, _ => new List<Sample>(), StringComparer.Ordinal);
            for (var round = 1; round <= rounds; round++)
            {
                // Each round starts with the next server, so no server always runs first (or right after another).
                foreach (var server in started.Skip((round - 1) % started.Count).Concat(started.Take((round - 1) % started.Count)))
                {
                    if (server.Process.HasExited)
                    {
                        // nbdkit has exited between rounds on this machine (code 0, no message):
                        // start it again, warm, rather than lose the run.
                        Console.Error.WriteLine($"round {round} {server.Name}: the server had exited with code {server.Process.ExitCode}; started again");
                        server.Process.Dispose();
                        server.Process = server.Name == "nbd-server"
                            ? await NbdServerPeer.StartAsync(server.File, server.Arguments)
                            : StartServer(server.File, server.Arguments, server.Environment);
                        await WaitForPortAsync(server.Port, server.Process);
                        await WarmUpAsync(server.Url, sizeMiB);
                    }

                    var (name, process, url) = (server.Name, server.Process, server.Url);

                    try
                    {
                        // Server CPU per GB copied: less at the mercy of the machine's load than MB/s.
                        // Several copies per round: one 1 GiB copy is 0.3-0.5 s, 30-50 clock ticks of CPU,
                        // where a tick of the server's background work moved the figure by 2-3 %.
                        var cpu = CpuSeconds(process.Id);
                        var copy = await NbdCopyAsync(url, sizeMiB, copies);
                        // nbd-server forks a process per connection: its CPU counts once the parent has reaped them.
                        await Task.Delay(100);
                        var copyCpu = (CpuSeconds(process.Id) - cpu) / (copies * sizeMiB / 1000.0 * 1.048576);
                        var seq = await FioAsync(url, "read", "1M", 8, runtime, iops: false);
                        var iops = await FioAsync(url, "randread", "4k", 16, runtime, iops: true);
                        results[name].Add(new Sample(round, copy, seq, iops, copyCpu));
                        Console.Error.WriteLine($"round {round} {name}: nbdcopy {copy:F0} MB/s ({copyCpu:F3} CPU s/GB), fio seq {seq:F0} MB/s, fio 4k {iops:F0} IOPS, load {LoadAverage()}");
                    }
                    catch (Exception e) when (e is InvalidOperationException or IOException)
                    {
                        Console.Error.WriteLine($"round {round} {name}: failed ({(process.HasExited ? $"the server exited with code {process.ExitCode}" : e.Message)}); skipped");
                    }
                }
            }

            Print(results, sizeMiB, runtime, rounds);
            PrintResults(results);
            return 0;
        }
        finally
        {
            foreach (var process in started.Select(s => s.Process))
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

    /// <summary>
    /// The servers by name. "streamboot copy" and "streamboot chain+cache copy"
    /// are the same servers with zero-copy reads off, for an A/B within one run.
    /// </summary>
    private static (string File, string[] Args) Command(string name, int port, string image, string? chainTop, string folder, string? baseline)
    {
        var p = port.ToString(s_invariant);
        var self = Environment.ProcessPath!;
        if (baseline is not null && name.EndsWith(" before", StringComparison.Ordinal))
        {
            // An earlier build's apphost: the same server arguments, its own code.
            var (_, arguments) = Command(name[..^" before".Length], port, image, chainTop, folder, null);
            return (Path.Combine(baseline, "Streamboot.Nbd.Bench"), [.. arguments.SkipWhile(a => a.EndsWith(".dll", StringComparison.Ordinal))]);
        }

        return name switch
        {
            "streamboot chain+cache" => (self, [.. SelfArguments(), "serve-chain", chainTop!, Path.Combine(folder, $"session-cache-{p}.qcow2"), p]),
            "streamboot chain+cache copy" => (self, [.. SelfArguments(), "serve-chain", chainTop!, Path.Combine(folder, $"session-cache-{p}.qcow2"), p, "--copy"]),
            // Read-only, so that two Streamboot servers can share the image (a writer locks it); reads are the same code.
            "streamboot" => (self, [.. SelfArguments(), "serve", image, p, "--read-only"]),
            "streamboot copy" => (self, [.. SelfArguments(), "serve", image, p, "--read-only", "--copy"]),
            "nbdkit" => ("nbdkit", ["-f", "-i", "127.0.0.1", "-p", p, "file", image]),
            "qemu-nbd" => ("qemu-nbd", ["-f", "raw", "-b", "127.0.0.1", "-p", p, "-x", "", "-e", "16", "-t", image]),
            _ => throw new ArgumentException($"unknown server '{name}'", nameof(name)),
        };
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], s_invariant) : fallback;
    }

    /// <summary>When run as "dotnet Streamboot.Nbd.Bench.dll", the child needs the dll path too.</summary>
    private static string[] SelfArguments() =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? [typeof(Benchmark).Assembly.Location] : [];

    /// <summary>utime + stime of a process and its finished children, from /proc/PID/stat.</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14-17 of proc(5) (utime, stime, cutime, cstime), counted from after the command name.
        var ticks = long.Parse(fields[11], s_invariant) + long.Parse(fields[12], s_invariant) + long.Parse(fields[13], s_invariant) + long.Parse(fields[14], s_invariant);
        return ticks / 100.0;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>Sparse first (as a fresh vDisk is), then every byte written, then read once so the page cache is hot.</summary>
    private static void CreateImage(string path, int sizeMiB)
    {
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20))
        {
            file.SetLength((long)sizeMiB << 20);
            var block = new byte[1 << 20];
            var random = new Random(42);
            for (var i = 0; i < sizeMiB; i++)
            {
                random.NextBytes(block);
                file.Write(block);
            }
        }

        using var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var buffer = new byte[1 << 20];
        while (read.Read(buffer) > 0)
        {
        }
    }

    /// <summary>
    /// A data folder of its own with the image imported (as qcow2, the default,
    /// or raw), and the <c>streamboot serve</c> command line on loopback with
    /// every other service off; what <paramref name="readCacheMiB"/> sets is
    /// the only setting that differs from the defaults.
    /// </summary>
    private static async Task<(string File, string[] Args, Dictionary<string, string> Environment)> ServeAsync(string name, string? format, string? readCacheMiB, int port, string image, int sizeMiB, string folder)
    {
        var launcher = Launcher();
        var data = Path.Combine(folder, name.Replace(' ', '-'));
        Directory.CreateDirectory(data);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (readCacheMiB is not null)
        {
            environment["STREAMBOOT_READ_CACHE_MIB"] = readCacheMiB == "FITS" ? (sizeMiB + 64).ToString(s_invariant) : readCacheMiB;
        }

        string[] import = ["--data", data, "vdisk", "import", "bench", image, .. format is null ? Array.Empty<string>() : ["--format", format]];
        var (code, output) = await RunToEndAsync(launcher, import);
        if (code != 0)
        {
            throw new InvalidOperationException($"streamboot {string.Join(' ', import)} failed ({code}): {output}");
        }

        if (name == "serve device")
        {
            await DeviceView.PrepareAsync(launcher, data, sizeMiB, RunToEndAsync);
        }

        string[] arguments =
        [
            "--data", data, "serve", "--bind", "127.0.0.1", "--server-name", name.Replace(' ', '-'),
            "--http-port", FreePort().ToString(s_invariant), "--nbd-port", port.ToString(s_invariant),
            "--iscsi-port", "0", "--tftp-port", "0",
        ];
        return (launcher, arguments, environment);
    }

    /// <summary>The repository's <c>streamboot</c> launcher (it builds the command line when needed).</summary>
    private static string Launcher()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "streamboot");
            if (System.IO.File.Exists(candidate) && System.IO.File.Exists(Path.Combine(dir.FullName, "Streamboot.slnx")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("cannot find the repository's 'streamboot' launcher above " + AppContext.BaseDirectory);
    }

    private static async Task<(int Code, string Output)> RunToEndAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    private static Process StartServer(string file, string[] arguments, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"  [{Path.GetFileName(file)}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForPortAsync(int port, Process process)
    {
        for (var i = 0; i < 600; i++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.StartInfo.FileName} exited with {process.ExitCode}");
            }

            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"nothing listens on port {port}");
    }

    /// <summary>
    /// Untimed work on each server before the rounds, the way a server that
    /// has been running a while is warm: three copies and a short run of each
    /// fio job. A .NET server's tiered JIT recompiles its hot methods with
    /// the profile it gathered during the first seconds of load (perf on
    /// `streamboot serve`: a fifth of the CPU samples of its second to fourth
    /// copies were in libclrjit; after a few minutes its user time per GB
    /// copied fell from 0.3 s to under 0.1 s); nbdkit has no JIT. The shared
    /// read cache of the session stack fills here too.
    /// </summary>
    private static async Task WarmUpAsync(string url, int sizeMiB)
    {
        for (var i = 0; i < 3; i++)
        {
            await NbdCopyAsync(url, sizeMiB, 1);
        }

        await FioAsync(url, "read", "1M", 8, 2, iops: false);
        await FioAsync(url, "randread", "4k", 16, 2, iops: true);
    }

    private static async Task<double> NbdCopyAsync(string url, int sizeMiB, int copies)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < copies; i++)
        {
            await RunAsync("nbdcopy", [url, "null:"]);
        }

        return (double)copies * sizeMiB * 1024 * 1024 / 1e6 / watch.Elapsed.TotalSeconds;
    }

    private static async Task<double> FioAsync(string url, string pattern, string blockSize, int depth, int runtime, bool iops)
    {
        var output = await RunAsync("fio",
        [
            "--name=bench", "--ioengine=nbd", $"--uri={url}", $"--rw={pattern}", $"--bs={blockSize}",
            $"--iodepth={depth}", "--time_based", $"--runtime={runtime}", "--output-format=json",
        ]);
        using var json = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
        var read = json.RootElement.GetProperty("jobs")[0].GetProperty("read");
        return iops ? read.GetProperty("iops").GetDouble() : read.GetProperty("bw_bytes").GetDouble() / 1e6;
    }

    private static async Task<string> RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed: {await stderr}");
        }

        return await stdout;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Print(Dictionary<string, List<Sample>> results, int sizeMiB, int runtime, int rounds)
    {
        Console.WriteLine();
        Console.WriteLine($"raw image {sizeMiB} MiB, page cache hot, loopback, {Environment.ProcessorCount} CPUs, {rounds} rounds, fio {runtime} s; median (min-max) of the rounds");
        Console.WriteLine("serve: `streamboot serve` defaults (qcow2 import, read cache 256 MiB), view `bench`; serve raw: raw import; serve cache-off: raw, STREAMBOOT_READ_CACHE_MIB=0; serve cache-fits: raw, a read cache the disk fits in; serve device: defaults, a device's own view (VDISK/DEVICE/KEY from its boot script: server-disk write cache, read cache, a two-version qcow2 chain with 5 % rewritten); streamboot*: bench-only servers (Streamboot.Nbd.Bench serve / serve-chain)");
        Console.WriteLine();
        Console.WriteLine("| server | nbdcopy to null: MB/s | fio 1 MiB seq read qd8: MB/s | fio 4 KiB rand read qd16: IOPS | server CPU s per GB (nbdcopy) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, samples) in results.Where(r => r.Value.Count > 0))
        {
            Console.WriteLine($"| {name} | {Spread(samples.Select(s => s.Copy))} | {Spread(samples.Select(s => s.Seq))} | {Spread(samples.Select(s => s.Iops))} | {Spread(samples.Select(s => s.CopyCpu), "F3")} |");
        }

        // Ratios are taken round by round (the same minutes of the machine), then summarised.
        foreach (var (name, samples) in results)
        {
            if (!name.StartsWith("streamboot", StringComparison.Ordinal) && !s_serveRows.ContainsKey(name))
            {
                continue;
            }

            if (results.TryGetValue("nbdkit", out var nbdkit))
            {
                PrintRatio($"{name} / nbdkit", samples, nbdkit);
            }

            if (results.TryGetValue(name + " before", out var before))
            {
                PrintRatio($"{name} / {name} before", samples, before);
            }
        }
    }

    /// <summary>
    /// The RESULT lines for bench/run: <c>serve</c> (the defaults) against every
    /// peer, every other Streamboot row against nbdkit. Each ratio is the
    /// median of the round-by-round ratios, as in the table.
    /// </summary>
    private static void PrintResults(Dictionary<string, List<Sample>> results)
    {
        Console.WriteLine();
        foreach (var (name, samples) in results.Where(r => r.Value.Count > 0 && (r.Key.StartsWith("streamboot", StringComparison.Ordinal) || s_serveRows.ContainsKey(r.Key))))
        {
            foreach (var peer in s_peers.Where(p => name == "serve" || p == "nbdkit"))
            {
                if (!results.TryGetValue(peer, out var theirs) || theirs.Count == 0)
                {
                    continue;
                }

                var pairs = samples.Join(theirs, s => s.Round, n => n.Round, (s, n) => (Ours: s, Theirs: n)).ToList();
                if (pairs.Count == 0)
                {
                    continue;
                }

                BenchResult.Print("nbd", "nbdcopy", "MB/s", name, peer, Median(Sorted(samples.Select(s => s.Copy))), Median(Sorted(theirs.Select(s => s.Copy))),
                    Median(Sorted(pairs.Select(p => p.Ours.Copy / p.Theirs.Copy))), Median(Sorted(samples.Select(s => s.CopyCpu))), Median(Sorted(theirs.Select(s => s.CopyCpu))));
                BenchResult.Print("nbd", "fio-1M-seq-qd8", "MB/s", name, peer, Median(Sorted(samples.Select(s => s.Seq))), Median(Sorted(theirs.Select(s => s.Seq))),
                    Median(Sorted(pairs.Select(p => p.Ours.Seq / p.Theirs.Seq))));
                BenchResult.Print("nbd", "fio-4k-rand-qd16", "IOPS", name, peer, Median(Sorted(samples.Select(s => s.Iops))), Median(Sorted(theirs.Select(s => s.Iops))),
                    Median(Sorted(pairs.Select(p => p.Ours.Iops / p.Theirs.Iops))));
            }
        }
    }

    private static List<double> Sorted(IEnumerable<double> values) => values.Order().ToList();

    private static void PrintRatio(string label, List<Sample> samples, List<Sample> against)
    {
        var pairs = samples.Join(against, s => s.Round, n => n.Round, (s, n) => (First: s, Second: n)).ToList();
        if (pairs.Count == 0)
        {
            return;
        }

        Console.WriteLine(
            $"| **{label}** | {Ratio(pairs.Select(p => p.First.Copy / p.Second.Copy))} | " +
            $"{Ratio(pairs.Select(p => p.First.Seq / p.Second.Seq))} | {Ratio(pairs.Select(p => p.First.Iops / p.Second.Iops))} | {Ratio(pairs.Select(p => p.First.CopyCpu / p.Second.CopyCpu))} |");
    }

    private static string Spread(IEnumerable<double> values, string format = "F0")
    {
        var sorted = values.Order().ToList();
        var (median, low, high) = (Median(sorted).ToString(format, s_invariant), sorted[0].ToString(format, s_invariant), sorted[^1].ToString(format, s_invariant));
        return sorted.Count == 1 ? median : $"{median} ({low}-{high})";
    }

    private static string Ratio(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 1 ? $"{sorted[0]:F2}x" : $"{Median(sorted):F2}x ({sorted[0]:F2}-{sorted[^1]:F2})";
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    private sealed class Server(string name, int port, string file, string[] arguments)
    {
        public string Name { get; } = name;

        public int Port { get; } = port;

        public string File { get; } = file;

        public string[] Arguments { get; } = arguments;

        public string Export { get; set; } = "";

        public Dictionary<string, string>? Environment { get; init; }

        public string Url => $"nbd://127.0.0.1:{Port}/{Export}";

        public required Process Process { get; set; }
    }

    private readonly record struct Sample(int Round, double Copy, double Seq, double Iops, double CopyCpu);
}
