using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Streamboot.Bench;

namespace Streamboot.Tftp.Bench;

/// <summary>
/// One run, three servers on the same page-cache-hot random file: Streamboot
/// (this program in "serve" mode, its own process), tftpd-hpa
/// (in.tftpd --listen --foreground) and atftpd (--daemon --no-fork). Each
/// listens on a free loopback port and is killed by its PID at the end. The
/// same client with the same options fetches the file from each, rounds
/// interleaved so machine noise spreads evenly; the tables show medians.
/// Lock-step transfers are compared with tftpd-hpa; RFC 7440 windows (which
/// tftpd-hpa lacks) with atftpd at the same windowsize. All of it twice:
/// with servers and clients pinned to one CPU, then unpinned.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class Benchmark
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["bench", ..])
        {
            Console.Error.WriteLine("usage: Streamboot.Tftp.Bench bench [--size-mib 64] [--runs 5] [--pinned-only] | serve PORT FOLDER... [--max-window N]");
            return args.Length == 0 ? 0 : 2;
        }

        var sizeMiB = Option(args, "--size-mib", 64);
        var runs = Option(args, "--runs", 5);
        var tftpd = Tool("/usr/sbin/in.tftpd", "tftpd-hpa");
        var atftp = Tool("/usr/bin/atftp", "atftp");
        var tftp = Tool("/usr/bin/tftp", "tftp-hpa");
        var curl = Tool("/usr/bin/curl", "curl");
        var atftpd = AtftpdPath();

        var folder = Path.Combine(Path.GetTempPath(), $"streamboot-tftp-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        // tftpd-hpa drops to 'nobody': the folder and file must be readable by all.
        File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
        try
        {
            var file = Path.Combine(folder, "big.bin");
            var size = CreateFile(file, sizeMiB);
            var hash = Sha256(file);
            var cpu = (Environment.ProcessorCount - 1).ToString(s_invariant);
            var tools = new Tools(tftpd, atftp, tftp, curl, Tool("/usr/bin/taskset", "util-linux"), atftpd);
            foreach (var pinned in args.Contains("--pinned-only") ? [true] : new[] { true, false })
            {
                Console.Error.WriteLine(pinned ? $"servers and clients pinned to CPU {cpu}" : "unpinned");
                await RunModeAsync(tools, folder, size, hash, sizeMiB, runs, pinned ? cpu : null);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// One set of rounds. Pinned, each server and every client share one CPU:
    /// on a small VM a lock-step transfer whose two ends land on different
    /// CPUs runs up to 10x slower (the wake-up crosses CPUs every block), and
    /// where the scheduler puts them changes from run to run.
    /// </summary>
    private static async Task RunModeAsync(Tools tools, string folder, long size, string hash, int sizeMiB, int runs, string? cpu)
    {
        var processes = new List<Process>();
        try
        {
            string[] Pin(string program, params string[] arguments) => cpu is null ? [program, .. arguments] : [tools.Taskset, "-c", cpu, program, .. arguments];

            var streambootPort = FreeUdpPort();
            processes.Add(Start(Pin(Environment.ProcessPath!, [.. SelfArguments(), "serve", streambootPort.ToString(s_invariant), folder])));
            var hpaPort = FreeUdpPort();
            processes.Add(Start(Pin(tools.Tftpd, "--listen", "--foreground", "--address", $"127.0.0.1:{hpaPort}", "--secure", folder)));
            var atftpdPort = FreeUdpPort();
            // Its own log file: by default it logs to syslog.
            processes.Add(Start(Pin(tools.Atftpd, "--daemon", "--no-fork", "--bind-address", "127.0.0.1", "--port", atftpdPort.ToString(s_invariant), "--logfile", "/dev/null", folder)));
            await WaitForServerAsync(streambootPort, processes[0]);
            await WaitForServerAsync(hpaPort, processes[1]);
            await WaitForServerAsync(atftpdPort, processes[2]);
            var accounts = processes.Select(CpuAccount.Create).ToArray();

            var output = Path.Combine(folder, "out.bin");
            string[] Atftp(int port, params string[] options) =>
                Pin(tools.Atftp, [.. options.SelectMany(o => new[] { "--option", o }), "-g", "-r", "big.bin", "-l", output, "127.0.0.1", port.ToString(s_invariant)]);

            // Same client, same options, both servers.
            var compared = new (string Name, string Key, Func<int, string[]> Command)[]
            {
                ("atftp blksize 1468", "atftp-b1468", port => Atftp(port, "blksize 1468", "tsize 0")),
                ("tftp-hpa client, 512-byte blocks", "tftp-hpa-b512", port => Pin(tools.Tftp, "-m", "binary", "127.0.0.1", port.ToString(s_invariant), "-c", "get", "big.bin", output)),
                ("curl --tftp-blksize 1468", "curl-b1468", port => Pin(tools.Curl, "-sS", "--tftp-blksize", "1468", "-o", output, $"tftp://127.0.0.1:{port}/big.bin")),
            };

            // Against atftpd with the same options; not the last row: Streamboot grants
            // windowsize 12 there (MaxWindowBytes), atftpd the 16 asked, so the options differ.
            var windowed = new (string Name, string Key, bool VersusAtftpd, Func<int, string[]> Command)[]
            {
                ("atftp blksize 1468 windowsize 16", "atftp-b1468-w16", true, port => Atftp(port, "blksize 1468", "windowsize 16")),
                ("atftp blksize 1468 windowsize 64", "atftp-b1468-w64", true, port => Atftp(port, "blksize 1468", "windowsize 64")),
                ("atftp blksize 8192 windowsize 16 (granted 12: MaxWindowBytes)", "atftp-b8192-w16", false, port => Atftp(port, "blksize 8192", "windowsize 16")),
            };

            var samples = new Dictionary<string, List<double>>();
            var cpuSamples = new Dictionary<string, List<double>>();
            var checkedOnce = new HashSet<string>();
            async Task MeasureAsync(string key, string[] command, CpuAccount server)
            {
                var before = server.Seconds();
                var rate = await FetchAsync(command, output, size, checkedOnce.Add(key) ? hash : null);
                await Task.Delay(100);
                var cpu = server.Seconds() - before;
                (samples.TryGetValue(key, out var list) ? list : samples[key] = []).Add(rate);
                (cpuSamples.TryGetValue(key, out var cpus) ? cpus : cpuSamples[key] = []).Add(cpu * 1e9 / size);
            }

            for (var round = 0; round < runs; round++)
            {
                foreach (var (name, _, command) in compared)
                {
                    await MeasureAsync($"{name}|streamboot", command(streambootPort), accounts[0]);
                    await MeasureAsync($"{name}|tftpd-hpa", command(hpaPort), accounts[1]);
                }

                foreach (var (name, _, versusAtftpd, command) in windowed)
                {
                    await MeasureAsync($"{name}|streamboot", command(streambootPort), accounts[0]);
                    if (versusAtftpd)
                    {
                        await MeasureAsync($"{name}|atftpd", command(atftpdPort), accounts[2]);
                    }
                }

                Console.Error.WriteLine($"round {round + 1}/{runs} done");
            }

            Console.WriteLine();
            Console.WriteLine($"{sizeMiB} MiB random file, page cache hot, loopback, {(cpu is null ? "unpinned" : $"server and client pinned to CPU {cpu}")}, median of {runs} (MB/s = 10^6 bytes/s, client wall-clock time; min-max in brackets)");
            Console.WriteLine();
            Console.WriteLine($"Throughput, and the server's CPU time per GB sent ({CpuAccount.How}):");
            Console.WriteLine();
            Console.WriteLine("| client and options | Streamboot MB/s | tftpd-hpa MB/s | ratio | Streamboot CPU s/GB | tftpd-hpa CPU s/GB | CPU ratio |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var (name, _, _) in compared)
            {
                PrintRow(name, samples, cpuSamples, "tftpd-hpa");
            }

            Console.WriteLine();
            Console.WriteLine("RFC 7440 windows (tftpd-hpa has no windowsize), against atftpd with the same options:");
            Console.WriteLine();
            Console.WriteLine("| client and options | Streamboot MB/s | atftpd MB/s | ratio | Streamboot CPU s/GB | atftpd CPU s/GB | CPU ratio |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var (name, _, _, _) in windowed)
            {
                PrintRow(name, samples, cpuSamples, "atftpd");
            }

            // The RESULT lines for bench/run (CPU ratio there is peer / Streamboot: higher is better).
            Console.WriteLine();
            var mode = cpu is null ? "unpinned" : "pinned";
            foreach (var (name, key, peer) in compared.Select(c => (c.Name, c.Key, "tftpd-hpa")).Concat(windowed.Select(w => (w.Name, w.Key, "atftpd"))))
            {
                var ours = samples[$"{name}|streamboot"];
                var theirs = samples.GetValueOrDefault($"{name}|{peer}");
                BenchResult.Print("tftp", $"{key}-{mode}", "MB/s", "streamboot", theirs is null ? "-" : peer, Median(ours), theirs is null ? null : Median(theirs),
                    cpu: Median(cpuSamples[$"{name}|streamboot"]), peerCpu: theirs is null ? null : Median(cpuSamples[$"{name}|{peer}"]));
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                // Only the processes this bench started, by their PID.
                if (!process.HasExited)
                {
                    process.Kill();
                    await process.WaitForExitAsync();
                }

                CpuAccount.Remove(process.Id);
                process.Dispose();
            }
        }
    }

    /// <summary>One table row: medians, min-max in brackets, and the peer's columns when it was measured.</summary>
    private static void PrintRow(string name, Dictionary<string, List<double>> samples, Dictionary<string, List<double>> cpuSamples, string peer)
    {
        var ours = samples[$"{name}|streamboot"];
        var ourCpu = Median(cpuSamples[$"{name}|streamboot"]);
        if (!samples.TryGetValue($"{name}|{peer}", out var theirs))
        {
            Console.WriteLine($"| {name} | {Median(ours):F1} [{ours.Min():F0}-{ours.Max():F0}] | (not compared) | | {ourCpu:F2} | | |");
            return;
        }

        var theirCpu = Median(cpuSamples[$"{name}|{peer}"]);
        Console.WriteLine($"| {name} | {Median(ours):F1} [{ours.Min():F0}-{ours.Max():F0}] | {Median(theirs):F1} [{theirs.Min():F0}-{theirs.Max():F0}] | {Median(ours) / Median(theirs):F2} | {ourCpu:F2} | {theirCpu:F2} | {ourCpu / theirCpu:F2} |");
    }

    private sealed record Tools(string Tftpd, string Atftp, string Tftp, string Curl, string Taskset, string Atftpd);

    /// <summary>
    /// atftpd conflicts with tftpd-hpa in Debian (installing one removes the
    /// other), so bench/run unpacks its package aside (apt-get download,
    /// dpkg-deb -x) and names the binary in STREAMBOOT_BENCH_ATFTPD.
    /// </summary>
    private static string AtftpdPath()
    {
        var path = Environment.GetEnvironmentVariable("STREAMBOOT_BENCH_ATFTPD") is { Length: > 0 } set ? set
            : File.Exists("/usr/sbin/atftpd") ? "/usr/sbin/atftpd" : "/var/cache/streamboot-bench/atftpd/usr/sbin/atftpd";
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: run bench/run (it unpacks Debian's 'atftpd' beside tftpd-hpa) or set STREAMBOOT_BENCH_ATFTPD");
    }

    private static string Tool(string path, string package) =>
        File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: install Debian's '{package}' package");

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], s_invariant) : fallback;
    }

    /// <summary>When run as "dotnet Streamboot.Tftp.Bench.dll", the child needs the dll path too.</summary>
    private static string[] SelfArguments() =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? [typeof(Benchmark).Assembly.Location] : [];

    private static long CreateFile(string path, int sizeMiB)
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

        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
        Sha256(path); // read once: page cache hot
        return (long)sizeMiB << 20;
    }

    private static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file));
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static Process Start(string[] command)
    {
        var file = command[0];
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in command[1..])
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

    /// <summary>A UDP server is up when it answers a read request for a missing file with ERROR.</summary>
    private static async Task WaitForServerAsync(int port, Process process)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        byte[] request = [0, 1, .. "no-such-file"u8, 0, .. "octet"u8, 0];
        var buffer = new byte[600];
        for (var i = 0; i < 100; i++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.StartInfo.FileName} exited with {process.ExitCode}");
            }

            await socket.SendToAsync(request, SocketFlags.None, new IPEndPoint(IPAddress.Loopback, port));
            using var cts = new CancellationTokenSource(100);
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
                if (received.ReceivedBytes >= 4 && buffer[1] == 5)
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        throw new TimeoutException($"no TFTP answer on port {port}");
    }

    /// <summary>One fetch; MB/s from the client's wall-clock time. The file is checked by size, and by SHA-256 when <paramref name="hash"/> is given.</summary>
    private static async Task<double> FetchAsync(string[] command, string output, long size, string? hash)
    {
        File.Delete(output);
        var (client, arguments) = (command[0], command[1..]);
        var start = new ProcessStartInfo(client) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {client}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // Only the client this bench started, by its PID.
            process.Kill();
            throw new TimeoutException($"{client} {string.Join(' ', arguments)} did not finish in 3 minutes");
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var length = File.Exists(output) ? new FileInfo(output).Length : -1;
        if (process.ExitCode != 0 || length != size || (hash is not null && Sha256(output) != hash))
        {
            throw new InvalidOperationException($"{client} {string.Join(' ', arguments)}: exit {process.ExitCode}, {length} of {size} bytes\n{await stdout}{await stderr}");
        }

        return size / seconds / 1e6;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
