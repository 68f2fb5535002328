using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The path Windows boots on, as far as this machine can walk it: a
/// diskless VM's iPXE SAN-boots the vDisk over iSCSI (CHAP, mutual, with
/// the credentials of its boot script) and leaves it in the iBFT; the
/// disk's own boot loader starts its kernel, whose initramfs takes the disk
/// over from the iBFT with the kernel's iSCSI initiator (open-iscsi's
/// iscsistart -N and -b), the hand-over Windows' initiator does, and
/// mounts its root from it. Writes land in the device's write cache.
/// </summary>
public sealed class IscsiBootTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("server-disk")]
    [InlineData("server-ram")]
    public async Task A_diskless_vm_sanboots_over_iscsi_and_its_kernel_takes_the_disk_over_from_the_ibft(string cache)
    {
        const string mac = "52:54:00:15:c5:01";
        await using var site = await BootSite.CreateAsync();
        var folder = await TestOs.FolderAsync();
        await site.Cli.OkAsync("vdisk", "import", "windisk", Path.Combine(folder, "disk-iscsi.img"), "--format", "raw", "--write-cache", cache);
        await site.Cli.OkAsync("vdisk", "set", "windisk", "--boot-protocol", "iscsi");
        await site.Cli.OkAsync("device", "add", mac, "--name", "win1");
        await site.Cli.OkAsync("assign", "win1", "windisk");
        await site.StartServerAsync(["--iscsi-port", "3260"]);
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync(mac);
        await vm.WaitForAsync("SAN-booting over iSCSI", TimeSpan.FromMinutes(2));
        var up = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"QEMU start to test OS over iSCSI ({cache}): {up.Seconds:F1} s ({up.Line})");
        Assert.StartsWith("/dev/sd", up["root"], StringComparison.Ordinal);

        // The root is the kernel initiator's session to the device's own target, set up from the iBFT.
        var target = "iqn.2026-01.org.streamboot:windisk:win1";
        Assert.Contains(target, await vm.RunAsync("cat /sys/class/iscsi_session/session*/targetname"), StringComparison.Ordinal);
        Assert.Contains(target, await vm.RunAsync("cat /sys/firmware/ibft/target0/target-name"), StringComparison.Ordinal);
        Assert.Equal("0.0.0.0", (await vm.RunAsync("cat /sys/firmware/ibft/ethernet0/gateway 2>/dev/null || echo 0.0.0.0")).Trim());

        // Writes go through the kernel initiator into the device's write cache, never into the vDisk.
        await vm.RunAsync("dd if=/dev/urandom of=/root/blob bs=65536 count=64 2>/dev/null && sync && echo 3 > /proc/sys/vm/drop_caches");
        Assert.Contains("4194304", await vm.RunAsync("wc -c < /root/blob"), StringComparison.Ordinal);
        var session = await TestOs.LiveSessionAsync(site, "win1");
        Assert.NotNull(session);
        Assert.Equal("iscsi", session.Value.GetProperty("protocol").GetString());
        Assert.Equal(cache, session.Value.GetProperty("writeCacheMode").GetString());
        var image = Directory.GetFiles((await site.Cli.JsonAsync("vdisk", "show", "windisk")).GetProperty("storePath").GetString()!, "*.raw").Single();
        var original = await File.ReadAllBytesAsync(Path.Combine(folder, "disk-iscsi.img"));
        var now = await File.ReadAllBytesAsync(image);
        Assert.True(original.SequenceEqual(now), "the vDisk's image changed");
        await site.Server!.WaitForOutputAsync("over iscsi from");
    }
}
