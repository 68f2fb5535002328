using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// Boot profiles with real boots of the test OS over emulated slow storage
/// (STREAMBOOT_STORAGE_READ_LATENCY_MS): the first boot records the profile,
/// the server restarts (a cold read cache), and the next boot's root file
/// system reads are prefetched from the profile from its /boot.ipxe on.
/// </summary>
public sealed class BootProfileBootTests(ITestOutputHelper output)
{
    private const string Mac = "52:54:00:5b:10:01";

    [Fact]
    public async Task A_boot_after_a_restart_replays_the_first_boots_profile()
    {
        var env = new Dictionary<string, string?> { ["STREAMBOOT_STORAGE_READ_LATENCY_MS"] = "50" };
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "testos");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "lab-pc1");
        await site.Cli.OkAsync("assign", "lab-pc1", "testos");
        await site.StartServerAsync(environment: env);
        await site.StartIpxeDhcpAsync();
        var profiles = Path.Combine(site.Cli.DataFolder, "profiles");

        var cold = await BootOnceAsync(site);
        await RestartAsync(site, env); // the session ends and its profile is written; the read cache starts cold
        var profile = Assert.Single(Directory.GetFiles(profiles, "testos.v*.profile"));
        var profileBytes = new FileInfo(profile).Length;

        var withProfile = await BootOnceAsync(site);
        var log = site.Server!.Output;
        Assert.Contains("Boot profile: replayed testos version", log, StringComparison.Ordinal);

        await RestartAsync(site, env);
        File.Delete(profile);
        var coldAgain = await BootOnceAsync(site);

        output.WriteLine($"storage latency 50 ms per read, profile file {profileBytes} bytes");
        output.WriteLine($"QEMU start to test OS: first boot (records) {cold:F1} s, with the profile {withProfile:F1} s, cold without it {coldAgain:F1} s");
        foreach (var line in log.Split('\n').Where(l => l.Contains("Boot profile", StringComparison.Ordinal)))
        {
            output.WriteLine(line);
        }
    }

    private static async Task<double> BootOnceAsync(BootSite site)
    {
        // Owned here, not by the site: the VM goes before the next boot so its session ends.
        await using var vm = await QemuVm.StartAsync(site.Network, Mac, site.Folder.Path);
        var up = await TestOs.WaitUpAsync(vm);
        return up.Seconds;
    }

    private static async Task RestartAsync(BootSite site, IReadOnlyDictionary<string, string?> env)
    {
        var old = site.Server!;
        Assert.Equal(0, await old.TerminateAsync(TimeSpan.FromSeconds(30)));
        await old.DisposeAsync();
        await site.StartServerAsync(environment: env);
    }
}
