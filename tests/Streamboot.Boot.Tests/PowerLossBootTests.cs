using System.Text.Json;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// A client loses power (QEMU killed: no shutdown, its TCP connections
/// never close) and boots again at once: the old boot's session ends and the
/// new boot starts clean instead of joining the old boot's write cache.
/// (The eviction of a session whose connections are still open is checked
/// step by step in the Sessions tests.)
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

        // The old boot's session has ended. The server ends it when the new boot opens its disk
        // (its connections were still open) or sooner, when the reborn machine, which now holds the
        // old address, answers the server's retransmission on the old connection with a reset.
        // Both are what a real power loss does; which comes first is up to the network.
        var old = (await site.Cli.JsonAsync("session", "list", "--all")).EnumerateArray().Single(s => s.GetProperty("id").GetInt64() == first);
        Assert.NotEqual(JsonValueKind.Null, old.GetProperty("endedAt").ValueKind);
        var log = site.Server!.Output;
        Assert.True(
            log.Contains($"Session {first} of lab-power ended: a new boot of the machine started", StringComparison.Ordinal)
                || log.Contains($"Session {first} ended: ", StringComparison.Ordinal),
            $"the server did not log how session {first} ended. Its output:\n{log}");
    }
}
