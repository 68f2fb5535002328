using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The client boot component's dracut module (Fedora, RHEL): the same test
/// OS, its initramfs made by dracut with systemd and network-legacy, boots
/// diskless through the module, with the name and machine id the server
/// gives, and its disk is kept by streamboot-nbd.
/// </summary>
public sealed class DracutBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_dracut_initramfs_boots_the_vdisk_as_the_device_the_database_names()
    {
        await using var site = await BootSite.CreateAsync();
        // Under dracut the partition is named with streamboot.root= (root= would be systemd's).
        await TestOs.ImportAsync(site, "fedoraish");
        var show = await site.Cli.JsonAsync("vdisk", "show", "fedoraish");
        var boot = Path.Combine(show.GetProperty("storePath").GetString()!, "boot");
        File.Copy(await TestOs.DracutInitrdAsync(), Path.Combine(boot, "initrd.img"), overwrite: true);
        await File.WriteAllTextAsync(Path.Combine(boot, "cmdline"), "console=ttyS0 streamboot.root=/dev/nbd0p2 rd.shell=0\n");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:80:01", "--name", "rhel-01");
        await site.Cli.OkAsync("assign", "rhel-01", "fedoraish");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        // A dracut initramfs of every storage and NIC driver (no host-only
        // image: the builder is not the client) unpacks to ~150 MiB.
        var vm = await site.StartVmAsync("52:54:00:5b:80:01", memoryMiB: 1024);
        var up = await TestOs.WaitUpAsync(vm, TimeSpan.FromMinutes(3));
        output.WriteLine($"QEMU start to test OS: {up.Seconds:F1} s ({up.Line})");
        var (name, machineId) = await TestOs.DeviceAsync(site, "rhel-01");
        Assert.Equal(name, up["hostname"]);
        Assert.Equal(machineId, up["machine-id"]);
        Assert.Equal("/dev/nbd0p2", up["root"]);
        Assert.Equal("server-disk", up["cache"]);
        Assert.Contains("systemd", vm.Console, StringComparison.Ordinal);
        // 2>/dev/null: a process may end between the glob and the read of its cmdline.
        Assert.Equal("1\n", await vm.RunAsync("for p in /proc/[0-9]*; do tr '\\0' ' ' <$p/cmdline; echo; done 2>/dev/null | grep -c '^@treamboot-nbd .* fedoraish/rhel-01 /dev/nbd0'"));
        await vm.RunAsync("echo through-dracut > /root/f && sync");
        Assert.Equal("through-dracut\n", await vm.RunAsync("dmesg -n 1; echo 3 > /proc/sys/vm/drop_caches; cat /root/f"));
        Assert.NotNull(await TestOs.LiveSessionAsync(site, "rhel-01"));
    }
}
