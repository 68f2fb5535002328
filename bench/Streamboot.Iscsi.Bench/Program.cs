using System.Globalization;
using Streamboot.Iscsi.Bench;

// [SECONDS=10] [ROUNDS=3] [SIZE_MIB=1024]
if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("this benchmark runs on Linux (tgt, iscsi-perf)");
    return 2;
}

var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var sizeMiB = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1024;
return await Benchmark.RunAsync(seconds, rounds, sizeMiB);
