using System.Diagnostics;

namespace Streamboot.Storm;

/// <summary>
/// One storm: N simulated clients started at once against one server,
/// after a warm-up (JIT, the server's boot profile, peers' first
/// connections) and with the image and boot files dropped from the page
/// cache, so the first clients read storage and the rest should not.
/// </summary>
internal static class Storm
{
    /// <summary>The index of the first warm-up client, far from the storm's.</summary>
    public const int WarmUpClient = 60000;

    /// <summary>Warm-up clients booting at once, and how many times.</summary>
    public const int WarmUpClients = 20;

    /// <summary>Rounds of the warm-up.</summary>
    public const int WarmUpRounds = 3;

    /// <summary>
    /// Boots <see cref="WarmUpClients"/> clients at once, <see cref="WarmUpRounds"/>
    /// times, and throws if one failed: a server that runs for a while has
    /// its hot code compiled. One boot was not enough: a profile of
    /// <c>streamboot serve</c> serving boot files right after start showed a
    /// quarter to a third of its CPU in the JIT (tiered compilation), gone
    /// after a dozen rounds of 40 downloads.
    /// </summary>
    public static async Task WarmUpAsync(IStormTarget target, BootTrace trace)
    {
        for (var round = 0; round < WarmUpRounds; round++)
        {
            var results = await Task.WhenAll(Enumerable.Range(WarmUpClient, WarmUpClients)
                .Select(i => Task.Run(() => SimulatedClient.BootAsync(i, target.ScriptUrl, trace, CancellationToken.None))));
            if (results.FirstOrDefault(r => !r.Ok) is { } failed)
            {
                throw new InvalidOperationException($"{target.Name}: a warm-up boot failed: {failed.Error}");
            }
        }
    }

    /// <summary>Runs <paramref name="clients"/> clients at once against <paramref name="target"/>.</summary>
    public static async Task<StormResult> RunAsync(IStormTarget target, int clients, BootTrace trace, TimeSpan timeout)
    {
        if (target.ReadyAt > DateTime.UtcNow)
        {
            var wait = target.ReadyAt - DateTime.UtcNow;
            Console.WriteLine($"  {target.Name}: waiting {wait.TotalSeconds:0} s until no prepared boot is in its booting window");
            await Task.Delay(wait);
        }

        PageCache.Evict(target.Files);
        await Task.Delay(500);
        await using var sampler = new ProcessSampler([.. target.Pids]);
        using var cts = new CancellationTokenSource(timeout);
        var clock = Stopwatch.StartNew();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, clients)
            .Select(i => Task.Run(async () =>
            {
                await start.Task;
                return await SimulatedClient.BootAsync(i, target.ScriptUrl, trace, cts.Token);
            }))
            .ToList();
        start.SetResult();
        var results = await Task.WhenAll(tasks);
        var seconds = clock.Elapsed.TotalSeconds;
        await sampler.DisposeAsync();

        var http = new Latencies();
        var scripts = new Latencies();
        var writes = new Latencies();
        var flushes = new Latencies();
        var nbd = new Latencies();
        foreach (var r in results)
        {
            http.Add(r.HttpMs);
            scripts.Add(r.ScriptMs);
            writes.Add(r.WriteMs);
            flushes.Add(r.FlushMs);
            nbd.Add(r.NbdMs);
        }

        var boots = results.Where(r => r.Ok).Select(r => r.Seconds).Order().ToArray();
        return new StormResult(
            target.Name,
            clients,
            results.Count(r => r.Ok),
            results.Count(r => !r.Ok),
            results.Sum(r => r.Retries),
            seconds,
            results.Sum(r => r.HttpBytes + r.NbdBytes),
            http.Sorted(),
            scripts.Sorted(),
            nbd.Sorted(),
            writes.Sorted(),
            flushes.Sorted(),
            [.. Enumerable.Range(0, 4).Select(phase => results.Where(r => r.Ok).Select(r => r.Phases[phase]).Order().ToArray())],
            boots,
            sampler.BaselineRss,
            sampler.PeakRss,
            sampler.PeakThreads,
            sampler.PeakProcesses,
            sampler.CpuSeconds - sampler.BaselineCpu,
            sampler.ReadBytes - sampler.BaselineReadBytes,
            [.. results.Where(r => !r.Ok).Select(r => r.Error!).Take(5)]);
    }
}
