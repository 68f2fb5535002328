using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Streamboot.Nbd.Bench;

/// <summary>
/// One run, three servers on the same hot 1 GiB raw image: Streamboot (this
/// program in "serve" mode, its own process), nbdkit's file plugin and
/// qemu-nbd. Each is started on a free loopback port and killed by PID after.
/// Measures nbdcopy to null: (MB/s, median of 3) and fio's nbd engine:
/// 1 MiB sequential reads at queue depth 8 (MB/s) and 4 KiB random reads at
/// queue depth 16 (IOPS).
/// </summary>
internal static class Benchmark
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["bench", ..])
        {
            Console.Error.WriteLine("usage: Streamboot.Nbd.Bench bench [--size-mib N] [--runtime S] | serve FILE PORT [--read-only]");
            return args.Length == 0 ? 0 : 2;
        }

        var sizeMiB = Option(args, "--size-mib", 1024);
        var runtime = Option(args, "--runtime", 5);
        var folder = Path.Combine(Path.GetTempPath(), $"streamboot-nbd-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            var image = Path.Combine(folder, "disk.raw");
            CreateImage(image, sizeMiB);
            var chainTop = await SessionStack.BuildChainAsync(image, folder);
            var overlay = Path.Combine(folder, "session-cache.qcow2");
            var servers = new (string Name, Func<int, (string File, string[] Args)> Command)[]
            {
                ("streamboot chain+cache", port => (Environment.ProcessPath!, [.. SelfArguments(), "serve-chain", chainTop, overlay, port.ToString(s_invariant)])),
                ("streamboot", port => (Environment.ProcessPath!, [.. SelfArguments(), "serve", image, port.ToString(s_invariant)])),
                ("nbdkit", port => ("nbdkit", ["-f", "-i", "127.0.0.1", "-p", port.ToString(s_invariant), "file", image])),
                ("qemu-nbd", port => ("qemu-nbd", ["-f", "raw", "-b", "127.0.0.1", "-p", port.ToString(s_invariant), "-x", "", "-e", "16", "-t", image])),
            };

            var results = new List<(string Name, double Copy, double Seq, double Iops)>();
            foreach (var (name, command) in servers)
            {
                var port = FreePort();
                var (file, arguments) = command(port);
                using var process = StartServer(file, arguments);
                try
                {
                    await WaitForPortAsync(port, process);
                    var url = $"nbd://127.0.0.1:{port}/";
                    var copies = new List<double>();
                    for (var i = 0; i < 3; i++)
                    {
                        copies.Add(await NbdCopyAsync(url, sizeMiB));
                    }

                    copies.Sort();
                    var seq = await FioAsync(url, "read", "1M", 8, runtime, iops: false);
                    var iops = await FioAsync(url, "randread", "4k", 16, runtime, iops: true);
                    results.Add((name, copies[1], seq, iops));
                    Console.Error.WriteLine($"{name}: nbdcopy {copies[1]:F0} MB/s, fio seq {seq:F0} MB/s, fio 4k {iops:F0} IOPS");
                }
                finally
                {
                    // Only the process this bench started, by its PID.
                    process.Kill();
                    await process.WaitForExitAsync();
                }
            }

            Print(results, sizeMiB);
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], s_invariant) : fallback;
    }

    /// <summary>When run as "dotnet Streamboot.Nbd.Bench.dll", the child needs the dll path too.</summary>
    private static string[] SelfArguments() =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? [typeof(Benchmark).Assembly.Location] : [];

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

    private static Process StartServer(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
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
        for (var i = 0; i < 200; i++)
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

    private static async Task<double> NbdCopyAsync(string url, int sizeMiB)
    {
        var watch = Stopwatch.StartNew();
        await RunAsync("nbdcopy", [url, "null:"]);
        return ((double)sizeMiB * 1024 * 1024) / 1e6 / watch.Elapsed.TotalSeconds;
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

    private static void Print(List<(string Name, double Copy, double Seq, double Iops)> results, int sizeMiB)
    {
        var nbdkit = results.Find(r => r.Name == "nbdkit");
        Console.WriteLine();
        Console.WriteLine($"raw image {sizeMiB} MiB, page cache hot, loopback, {Environment.ProcessorCount} CPUs");
        Console.WriteLine();
        Console.WriteLine("| server | nbdcopy to null: MB/s | fio 1 MiB seq read qd8: MB/s | fio 4 KiB rand read qd16: IOPS |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            Console.WriteLine($"| {r.Name} | {r.Copy:F0} | {r.Seq:F0} | {r.Iops:F0} |");
        }

        var sb = results.Find(r => r.Name == "streamboot");
        if (nbdkit.Name is not null && sb.Name is not null)
        {
            Console.WriteLine($"| streamboot / nbdkit | {sb.Copy / nbdkit.Copy:F2}x | {sb.Seq / nbdkit.Seq:F2}x | {sb.Iops / nbdkit.Iops:F2}x |");
        }

        // The stack a device's session streams: 3-version qcow2 chain, shared read cache, write-cache overlay (target 0.8x).
        var chain = results.Find(r => r.Name == "streamboot chain+cache");
        if (nbdkit.Name is not null && chain.Name is not null)
        {
            Console.WriteLine($"| streamboot chain+cache / nbdkit raw | {chain.Copy / nbdkit.Copy:F2}x | {chain.Seq / nbdkit.Seq:F2}x | {chain.Iops / nbdkit.Iops:F2}x |");
        }
    }
}
