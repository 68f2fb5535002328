using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>Two clients on one standard image at once: each has its own name and its own server-disk write cache, thrown away at its next boot.</summary>
public sealed class SharedImageBootTests(ITestOutputHelper output)
{
    private static readonly string[] s_macs = ["52:54:00:5b:20:01", "52:54:00:5b:20:02"];

    [Fact]
    public async Task Two_clients_of_one_image_see_only_their_own_writes_and_start_clean_after_a_reboot()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "shared");
        for (var i = 0; i < s_macs.Length; i++)
        {
            await site.Cli.OkAsync("device", "add", s_macs[i], "--name", $"desk{i + 1}");
            await site.Cli.OkAsync("assign", $"desk{i + 1}", "shared");
        }

        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var (first, second) = await BootBothAsync(site);
        Assert.NotEqual(first.Report["hostname"], second.Report["hostname"]);
        Assert.NotEqual(first.Report["machine-id"], second.Report["machine-id"]);

        await first.Vm.RunAsync("echo written-by-desk1 > /root/mark && sync");
        Assert.Equal("written-by-desk1\n", await first.Vm.RunAsync("cat /root/mark"));
        Assert.Equal("absent\n", await second.Vm.RunAsync("test -e /root/mark && echo present || echo absent"));
        await second.Vm.RunAsync("echo written-by-desk2 > /root/mark2 && sync");

        // A reboot: the guest's reboot ends QEMU (-no-reboot); the machine
        // then boots again, and the server starts it a new write cache.
        foreach (var vm in new[] { first.Vm, second.Vm })
        {
            await vm.SendLineAsync("reboot");
        }

        foreach (var vm in new[] { first.Vm, second.Vm })
        {
            await vm.WaitForExitAsync(TimeSpan.FromMinutes(1));
        }

        var (again1, again2) = await BootBothAsync(site);
        Assert.Equal(first.Report["hostname"], again1.Report["hostname"]);
        Assert.Equal("absent\n", await again1.Vm.RunAsync("test -e /root/mark && echo present || echo absent"));
        Assert.Equal("absent\n", await again2.Vm.RunAsync("test -e /root/mark2 && echo present || echo absent"));
    }

    private async Task<((QemuVm Vm, TestOs.Report Report), (QemuVm Vm, TestOs.Report Report))> BootBothAsync(BootSite site)
    {
        var vms = new List<QemuVm>();
        foreach (var mac in s_macs)
        {
            vms.Add(await site.StartVmAsync(mac));
        }

        var reports = await Task.WhenAll(vms.Select(vm => TestOs.WaitUpAsync(vm)));
        foreach (var report in reports)
        {
            output.WriteLine($"QEMU start to test OS: {report.Seconds:F1} s ({report.Line})");
        }

        return ((vms[0], reports[0]), (vms[1], reports[1]));
    }
}
