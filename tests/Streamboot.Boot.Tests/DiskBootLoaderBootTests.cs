using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// SAN boot of a whole disk image: the vDisk keeps no kernel beside it, so
/// the boot script has iPXE <c>sanboot</c> the device's view over HTTP range
/// requests; the BIOS boots the disk's own boot loader (SYSLINUX on its first
/// partition), which loads the kernel from the disk itself. That command
/// line names no session, so the initramfs asks the server's /boot/identity
/// (server from the DHCP next-server) and finds the root partition by itself.
/// </summary>
public sealed class DiskBootLoaderBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_disk_booted_by_its_own_boot_loader_learns_its_session_from_the_identity_endpoint()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "sandisk");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:60:01", "--name", "san1");
        await site.Cli.OkAsync("assign", "san1", "sandisk");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();
        var store = (await site.Cli.JsonAsync("vdisk", "show", "sandisk")).GetProperty("storePath").GetString()!;
        Directory.Delete(Path.Combine(store, "boot"), recursive: true);

        var vm = await site.StartVmAsync("52:54:00:5b:60:01");
        await vm.WaitForAsync("SAN-booting the whole disk over HTTP", TimeSpan.FromMinutes(2));
        var up = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"QEMU start to test OS: {up.Seconds:F1} s ({up.Line})");

        var (name, machineId) = await TestOs.DeviceAsync(site, "san1");
        Assert.Equal(name, up["hostname"]);
        Assert.Equal(machineId, up["machine-id"]);
        Assert.Equal("/dev/nbd0p2", up["root"]);
        Assert.Equal("sandisk/san1", up["export"]);
        Assert.NotNull(await TestOs.LiveSessionAsync(site, "san1"));
        await site.Server!.WaitForOutputAsync("over http from");
    }
}
