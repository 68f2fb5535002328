using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>Two vDisks assigned: iPXE shows the menu, and with nobody at the keyboard the default boots, all the way to its OS.</summary>
public sealed class BootMenuBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task With_two_vdisks_the_menu_appears_and_the_default_boots_after_the_timeout()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "office");
        await TestOs.ImportAsync(site, "lab");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:80:01", "--name", "dual");
        await site.Cli.OkAsync("assign", "dual", "office");
        await site.Cli.OkAsync("assign", "dual", "lab", "--default");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync("52:54:00:5b:80:01");
        await vm.WaitForAsync("Streamboot: dual - choose a vDisk", TimeSpan.FromMinutes(3));
        await vm.WaitForAsync("Streamboot: dual chose vDisk lab", TimeSpan.FromSeconds(30));
        var up = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"QEMU start to test OS through the menu: {up.Seconds:F1} s");
        Assert.Equal("lab/dual", up["export"]);
        Assert.Equal("dual", up["hostname"]);
    }
}
