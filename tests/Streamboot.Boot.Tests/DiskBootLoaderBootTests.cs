using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The test disk's own boot loader (SYSLINUX on its first partition, as
/// iPXE sanboot hands the disk to the BIOS): the kernel command line names
/// no session, so the initramfs asks the server's /boot/identity (server
/// from the DHCP next-server), and finds the root partition by itself.
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

        // The BIOS boots a copy of the disk image from a local IDE disk, which
        // is what it sees of a sanboot disk; root and writes still go over NBD.
        var disk = site.Folder.Combine("san.img");
        File.Copy(Path.Combine(await TestOs.FolderAsync(), "disk.img"), disk);
        var vm = await site.StartVmAsync("52:54:00:5b:60:01", ["-boot", "c", "-drive", $"file={disk},if=ide,format=raw,snapshot=on"]);
        var up = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"QEMU start to test OS: {up.Seconds:F1} s ({up.Line})");

        var (name, machineId) = await TestOs.DeviceAsync(site, "san1");
        Assert.Equal(name, up["hostname"]);
        Assert.Equal(machineId, up["machine-id"]);
        Assert.Equal("/dev/nbd0p2", up["root"]);
        Assert.Equal("sandisk/san1", up["export"]);
        Assert.NotNull(await TestOs.LiveSessionAsync(site, "san1"));
    }
}
