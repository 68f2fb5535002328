using System.Globalization;
using Streamboot.Storm;

// The boot-storm load generator (issue 14). README.md in this folder says
// how to run it and what the columns mean.
//
// Streamboot.Storm [--clients 100,500,1000] [--servers streamboot,nbdkit,nbd-server]
//                  [--trace FILE] [--testos DIR] [--timeout-minutes 10] [--quick]
// --quick (bench/run --quick): 100 clients only, unless --clients says otherwise.
if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("the storm runs on Linux (/proc, nbdkit, nbd-server, busybox httpd)");
    return 2;
}

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

var root = Tool.FindRepository();
var clients = Option("--clients", args.Contains("--quick") ? "100" : "100,500,1000").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToList();
var servers = Option("--servers", "streamboot,nbdkit,nbd-server").Split(',').ToList();
var tracePath = Option("--trace", Path.Combine(root, "bench", "Streamboot.Storm", "boot-trace.txt"));
var testos = Option("--testos", Path.Combine(root, "artifacts", "testos"));
var timeout = TimeSpan.FromMinutes(double.Parse(Option("--timeout-minutes", "10"), CultureInfo.InvariantCulture));
if (servers.Except(["streamboot", "nbdkit", "nbd-server"]).FirstOrDefault() is { } unknown)
{
    Console.Error.WriteLine($"unknown server '{unknown}': streamboot, nbdkit or nbd-server");
    return 2;
}

if (!File.Exists(Path.Combine(testos, "disk.img")))
{
    Console.Error.WriteLine($"no test OS in {testos}: build it with client/testimage/build.sh {testos}");
    return 2;
}

try
{
    // Every tool first: a missing one stops the run before any storm.
    _ = Tool.Find("busybox", "busybox-static");
    if (servers.Contains("nbdkit"))
    {
        _ = Tool.Find("nbdkit", "nbdkit");
    }

    if (servers.Contains("nbd-server"))
    {
        _ = Tool.Find("nbd-server", "nbd-server");
    }

    var trace = BootTrace.Load(tracePath);
    Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, load {File.ReadAllText("/proc/loadavg").Trim()}");
    Console.WriteLine($"trace {tracePath}: {trace.Reads} reads ({trace.ReadBytes / 1e6:0.00} MB), {trace.Writes} writes ({trace.WrittenBytes / 1e6:0.00} MB), {trace.Ops.Count} requests");
    var results = new List<StormResult>();
    var work = Path.Combine(Path.GetTempPath(), $"streamboot-storm-{Guid.NewGuid():N}");
    foreach (var n in clients)
    {
        results.AddRange(await StormSize.RunAsync(n, servers, root, testos, Path.Combine(work, $"n{n}"), trace, timeout));
    }

    // Kept after a failure, for the servers' logs.
    Directory.Delete(work, recursive: true);

    Console.WriteLine();
    Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load {File.ReadAllText("/proc/loadavg").Trim()}");
    Report.Print(Console.Out, results);
    foreach (var n in clients)
    {
        Report.PrintTargets(Console.Out, results, n);
    }

    Report.PrintGrowth(Console.Out, results);
    Report.PrintResultLines(results);

    return results.Any(r => r.Errors > 0) ? 1 : 0;
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"storm: {e.Message}");
    return 1;
}
