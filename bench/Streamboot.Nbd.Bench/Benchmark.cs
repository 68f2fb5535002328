namespace Streamboot.Nbd.Bench;

internal static class Benchmark
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("usage: Streamboot.Nbd.Bench serve FILE PORT [--read-only] | bench [--size-mib N]");
        return Task.FromResult(args.Length == 0 ? 0 : 2);
    }
}
