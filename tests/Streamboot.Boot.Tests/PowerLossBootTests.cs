using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// A client loses power (QEMU killed: no shutdown, its TCP connections
/// never close) and boots again at once: the server ends the old boot's
/// session when the new boot opens its disk with its new key, and the new
/// boot starts clean instead of joining the old boot's write cache.
/// </summary>
public sealed class PowerLossBootTests(ITestOutputHelper output)
{
    private const string Mac = "52:54:00:5b:90:01";

    [Fact]
    public async Task A_client_that_lost_power_boots_again_clean_under_its_own_name()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "std");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "lab-power");
        await site.Cli.OkAsync("assign", "lab-power", "std");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync(Mac);
        await TestOs.WaitUpAsync(vm);
        await vm.RunAsync("echo before-power-loss > /root/old && sync");
        var first = (await TestOs.LiveSessionAsync(site, "lab-power"))!.Value.GetProperty("id").GetInt64();
        await vm.PowerOffAsync();

        var again = await site.StartVmAsync(Mac);
        var up = await TestOs.WaitUpAsync(again);
        output.WriteLine($"second boot up in {up.Seconds:F1} s");
        Assert.Equal("lab-power", up["hostname"]);
        Assert.Equal("absent\n", await again.RunAsync("cat /root/old 2>/dev/null || echo absent"));
        var live = (await TestOs.LiveSessionAsync(site, "lab-power"))!.Value.GetProperty("id").GetInt64();
        Assert.NotEqual(first, live);
        await site.Server!.WaitForOutputAsync($"Session {first} of lab-power ended: a new boot of the machine started", TimeSpan.FromSeconds(5));
    }
}
