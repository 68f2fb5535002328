using System.Globalization;
using System.Runtime.InteropServices;
using Streamboot.Boot.Tests;
using Streamboot.Testing;

namespace Streamboot.BootTime;

/// <summary>
/// Diskless boot time of the test OS (client/testimage: the host's Debian
/// kernel, an initramfs with the client boot component, a busybox root on
/// ext4) in QEMU under TCG, from QEMU's start to the test OS's init line, in
/// interleaved rounds of five boots:
/// <list type="bullet">
/// <item>streamboot warm: <c>streamboot serve</c> defaults, running and having served a boot since its last start (its JIT, read cache and the page cache warm);</item>
/// <item>streamboot warm, initramfs DHCP: the same image with <c>ip=dhcp</c> on its command line, so the initramfs asks
/// DHCP again instead of taking iPXE's address (<c>streamboot.ip</c>): the gain of handing it over;</item>
/// <item>peers warm: the chain an admin builds from peers: dnsmasq (the same options as for Streamboot), busybox httpd with a static
/// iPXE script, the same kernel, initrd, key piece and command line, and nbdkit (file plugin, cow filter, a new nbdkit per boot) on a
/// copy of the same disk;</item>
/// <item>streamboot cold, profile: the server restarted (an empty read cache) and the image files dropped from the page cache
/// (posix_fadvise DONTNEED), the version's boot profile in place;</item>
/// <item>streamboot cold, no profile: the same with the profile moved away;</item>
/// <item>peers cold: nbdkit restarted and its disk dropped from the page cache.</item>
/// </list>
/// Both chains run on networks of their own (namespaces, a bridge, dnsmasq
/// on another host); every step of a boot is timed from the serial console
/// as it arrives (<see cref="QemuVm.SecondsUntilSeen"/>).
/// </summary>
internal static partial class Program
{
    private const string MacA = "52:54:00:b7:00:01";
    private const string MacB = "52:54:00:b7:00:02";
    private const string MacDhcp = "52:54:00:b7:00:04";
    private const int PeerHttpPort = 8080;
    private const int PeerNbdPort = 10809;

    /// <summary>What the console shows at each step of a boot, in order.</summary>
    private static readonly (string Step, string Text)[] s_steps =
    [
        ("iPXE", "iPXE initialising devices"),
        ("script", "boot.ipxe..."),
        ("kernel starts", "Linux version"),
        ("initramfs", "streamboot: ["),
        ("root up", TestOs.UpLine),
    ];

    private static readonly string[] s_rows = ["streamboot warm", "streamboot warm, initramfs DHCP", "peers warm", "streamboot cold, profile", "streamboot cold, no profile", "peers cold"];

    /// <summary><c>--timeline</c>: every console line of every boot with its arrival time.</summary>
    private static bool s_timeline;

    public static async Task<int> Main(string[] args)
    {
        s_timeline = args.Contains("--timeline");
        var roundsAt = Array.IndexOf(args, "--rounds");
        var rounds = roundsAt >= 0 && roundsAt + 1 < args.Length ? int.Parse(args[roundsAt + 1], CultureInfo.InvariantCulture) : 3;
        foreach (var (tool, package) in new[] { ("qemu-system-x86_64", "qemu-system-x86"), ("dnsmasq", "dnsmasq-base"), ("nbdkit", "nbdkit"), ("busybox", "busybox") })
        {
            if (ProcessRunner.Find(tool, "/usr/sbin") is null)
            {
                Console.Error.WriteLine($"Streamboot.BootTime: {tool} is missing; apt-get install {package}");
                return 2;
            }
        }

        if (args.Contains("--http"))
        {
            return await IpxeDownloads.RunAsync(rounds);
        }

        await using var a = await BootSite.CreateAsync();
        await using var b = await BootSite.CreateAsync();
        var peers = new Peers(b);
        try
        {
            Console.WriteLine("building the test OS and both sites");
            await TestOs.ImportAsync(a, "testos");
            await a.Cli.OkAsync("device", "add", MacA, "--name", "lab-pc1");
            await a.Cli.OkAsync("assign", "lab-pc1", "testos");
            // The same image with ip=dhcp on its command line: the initramfs asks DHCP again, as before streamboot.ip.
            await TestOs.ImportAsync(a, "testos-dhcp", "ip=dhcp");
            await a.Cli.OkAsync("device", "add", MacDhcp, "--name", "lab-pc2");
            await a.Cli.OkAsync("assign", "lab-pc2", "testos-dhcp");
            await a.StartServerAsync();
            await a.StartIpxeDhcpAsync();
            await peers.PrepareAsync(a, await TestOs.FolderAsync());
            await b.StartIpxeDhcpAsync($"http://{b.Network.ServerAddress}:{PeerHttpPort}/boot.ipxe");

            // A first boot of each, untimed: Streamboot records the version's boot profile
            // (written when the session ends: the restart), the JIT warms.
            await BootAsync(a, MacA, "warm-up");
            await BootAsync(a, MacDhcp, "warm-up, initramfs DHCP");
            await a.RestartServerAsync();
            var profile = Directory.GetFiles(Path.Combine(a.Cli.DataFolder, "profiles"), "testos.v*.profile").Single();
            await peers.StartNbdkitAsync();
            await BootAsync(b, MacB, "warm-up");
            // "Warm" is a server that has served boots since it started: its JIT has compiled the boot path.
            await BootAsync(a, MacA, "warm-up after the restart");

            var results = s_rows.ToDictionary(r => r, _ => new List<Dictionary<string, double>>());
            for (var round = 1; round <= rounds; round++)
            {
                results["streamboot warm"].Add(await BootAsync(a, MacA, $"round {round} streamboot warm"));
                results["streamboot warm, initramfs DHCP"].Add(await BootAsync(a, MacDhcp, $"round {round} streamboot warm, initramfs DHCP"));

                await peers.StartNbdkitAsync();
                results["peers warm"].Add(await BootAsync(b, MacB, $"round {round} peers warm"));

                await a.RestartServerAsync();
                DropFromPageCache(Directory.GetFiles(Path.Combine(a.Cli.DataFolder, "vdisks"), "*", SearchOption.AllDirectories));
                results["streamboot cold, profile"].Add(await BootAsync(a, MacA, $"round {round} streamboot cold, profile"));

                File.Move(profile, profile + ".aside", overwrite: true);
                await a.RestartServerAsync();
                DropFromPageCache(Directory.GetFiles(Path.Combine(a.Cli.DataFolder, "vdisks"), "*", SearchOption.AllDirectories));
                results["streamboot cold, no profile"].Add(await BootAsync(a, MacA, $"round {round} streamboot cold, no profile"));
                // That boot recorded a profile of its own (written at the next restart); the measured one comes back.
                await a.RestartServerAsync();
                File.Move(profile + ".aside", profile, overwrite: true);
                // The next round's warm rows are measured on a server that has served a boot since this restart
                // (the first round measured the first boot after a restart as "warm": 1.1 s slower than the next).
                await BootAsync(a, MacA, $"round {round} warm-up after the restart");

                await peers.StartNbdkitAsync();
                DropFromPageCache(peers.Files);
                results["peers cold"].Add(await BootAsync(b, MacB, $"round {round} peers cold"));
            }

            Print(results, rounds);
            return 0;
        }
        finally
        {
            peers.Stop();
        }
    }

    /// <summary>One boot from QEMU's start to the test OS's init line; the time of each step.</summary>
    private static async Task<Dictionary<string, double>> BootAsync(BootSite site, string mac, string label)
    {
        await using var vm = await QemuVm.StartAsync(site.Network, mac, site.Folder.Path);
        try
        {
            await TestOs.WaitUpAsync(vm, TimeSpan.FromMinutes(6));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{label}: the test OS did not come up ({e.Message}). Console:\n{vm.Console}", e);
        }

        var steps = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (step, text) in s_steps)
        {
            if (vm.SecondsUntilSeen(text) is { } seconds)
            {
                steps[step] = seconds;
            }
        }

        Console.WriteLine($"{label}: " + string.Join(", ", steps.Select(s => $"{s.Key} {s.Value:F1} s")) + $" (load {Load()})");
        foreach (var line in vm.Console.Split('\n').Where(l => s_timeline || l.StartsWith("streamboot: [", StringComparison.Ordinal)))
        {
            var text = line.TrimEnd();
            Console.WriteLine(s_timeline && text.Length > 0 && vm.SecondsUntilSeen(text) is { } at ? $"    {at,6:F2} {text}" : "    " + text);
        }

        return steps;
    }

    private static void Print(Dictionary<string, List<Dictionary<string, double>>> results, int rounds)
    {
        Console.WriteLine();
        Console.WriteLine($"test OS boot in QEMU (TCG), {Environment.ProcessorCount} CPUs, load {Load()}, {rounds} rounds; seconds from QEMU's start, median (min-max)");
        Console.WriteLine();
        Console.WriteLine("| chain | " + string.Join(" | ", s_steps.Select(s => s.Step)) + " |");
        Console.WriteLine("| --- |" + string.Concat(s_steps.Select(_ => " ---: |")));
        foreach (var (row, boots) in results)
        {
            Console.WriteLine($"| {row} | " + string.Join(" | ", s_steps.Select(s => Spread(boots.Where(b => b.ContainsKey(s.Step)).Select(b => b[s.Step])))) + " |");
        }

        Console.WriteLine();
        foreach (var (row, peer) in new[] { ("streamboot warm", "peers warm"), ("streamboot warm", "streamboot warm, initramfs DHCP"), ("streamboot cold, profile", "peers cold"), ("streamboot cold, no profile", "peers cold"), ("streamboot cold, profile", "streamboot cold, no profile") })
        {
            var ratios = results[row].Zip(results[peer]).Select(p => p.Second["root up"] / p.First["root up"]).Order().ToList();
            Console.WriteLine($"root up, time of {peer} / time of {row}: {Median(ratios):F2}x ({ratios[0]:F2}-{ratios[^1]:F2}; above 1: {row} boots faster)");
            Streamboot.Bench.BenchResult.Print("boot", "root-up", "s", row, peer,
                Median([.. results[row].Select(b => b["root up"]).Order()]), Median([.. results[peer].Select(b => b["root up"]).Order()]), Median(ratios));
        }
    }

    private static string Spread(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? "-" : sorted.Count == 1 ? $"{sorted[0]:F1}" : $"{Median(sorted):F1} ({sorted[0]:F1}-{sorted[^1]:F1})";
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    /// <summary>posix_fadvise(DONTNEED) on each file: its pages leave the page cache (dirty ones are written first).</summary>
    private static void DropFromPageCache(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            _ = Fdatasync((int)handle.DangerousGetHandle());
            var error = PosixFadvise((int)handle.DangerousGetHandle(), 0, 0, 4 /* POSIX_FADV_DONTNEED */);
            if (error != 0)
            {
                throw new IOException($"posix_fadvise({file}) failed: {error}");
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);

    [LibraryImport("libc", EntryPoint = "fdatasync")]
    private static partial int Fdatasync(int fd);
}
