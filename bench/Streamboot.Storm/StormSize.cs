namespace Streamboot.Storm;

/// <summary>
/// Every server's storm of one size. Streamboot's site is made first and
/// its N devices registered (each asks for its script once); while those
/// boots leave its booting window (90 s, which <c>--max-booting</c> counts),
/// the peers' storms run, each on a fresh nbdkit or nbd-server and busybox
/// httpd serving the same image and boot files; then Streamboot's storm.
/// </summary>
internal static class StormSize
{
    public static async Task<List<StormResult>> RunAsync(int clients, IReadOnlyList<string> servers, string root, string testos, string work, BootTrace trace, TimeSpan timeout)
    {
        Console.WriteLine($"N={clients}: setting up streamboot serve in {work}");
        var results = new List<StormResult>();
        var streamboot = await StreambootTarget.StartAsync(root, testos, Path.Combine(work, "streamboot"));
        try
        {
            if (servers.Contains("streamboot"))
            {
                await Storm.WarmUpAsync(streamboot, trace);
                var seconds = await streamboot.RegisterAsync(clients);
                Console.WriteLine($"  streamboot: warm-up done ({Storm.WarmUpRounds} x {Storm.WarmUpClients} boots), {clients} devices registered by their first boot script in {seconds:0.0} s");
            }

            var boot = Path.GetDirectoryName(streamboot.Files[1])!;
            var cmdline = (await File.ReadAllTextAsync(Path.Combine(boot, "cmdline"))).Trim();
            foreach (var peer in servers.Where(s => s != "streamboot"))
            {
                await using var target = await PeerTarget.StartAsync(peer, Path.Combine(work, peer), streamboot.Image, streamboot.Files[1], streamboot.Files[2], cmdline);
                await Storm.WarmUpAsync(target, trace);
                results.Add(await RunOneAsync(target, clients, trace, timeout));
            }

            if (servers.Contains("streamboot"))
            {
                results.Add(await RunOneAsync(streamboot, clients, trace, timeout));
            }
        }
        catch
        {
            Console.Error.WriteLine($"streamboot's log: {Path.Combine(streamboot.Data, "serve.log")} (kept)");
            throw;
        }
        finally
        {
            await streamboot.DisposeAsync();
        }

        return results;
    }

    private static async Task<StormResult> RunOneAsync(IStormTarget target, int clients, BootTrace trace, TimeSpan timeout)
    {
        Console.WriteLine($"  {target.Name}: storm of {clients} ({target.Description})");
        var result = await Storm.RunAsync(target, clients, trace, timeout);
        Console.WriteLine($"  {target.Name}: {result.Ok} ok, {result.Errors} errors, last done after {result.Seconds:0.00} s, {result.MBps:0} MB/s, NBD p99 {result.NbdP(99):0.0} ms, HTTP p99 {result.HttpP(99):0.0} ms, peak RSS {result.PeakRss / 1048576.0:0} MiB");
        foreach (var error in result.FirstErrors)
        {
            Console.WriteLine($"    {error}");
        }

        return result;
    }
}
