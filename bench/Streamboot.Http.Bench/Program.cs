using System.Globalization;
using Streamboot.Http.Bench;

// [--size-mib 1024] [--seconds 5] [--rounds 3] [--connections 4] [--servers serve,lighttpd,busybox-httpd]
if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("this benchmark runs on Linux (lighttpd, busybox httpd, /proc)");
    return 2;
}

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("usage: Streamboot.Http.Bench [--size-mib 1024] [--seconds 5] [--rounds 3] [--connections 4] [--servers serve,lighttpd,busybox-httpd]");
    return 0;
}

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

var serversIndex = Array.IndexOf(args, "--servers");
var servers = serversIndex >= 0 && serversIndex + 1 < args.Length
    ? args[serversIndex + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    : ["serve", "lighttpd", "busybox-httpd"];
return await Benchmark.RunAsync(new BenchOptions(Option("--size-mib", 1024), Option("--seconds", 5), Option("--rounds", 3), Option("--connections", 4), servers));
