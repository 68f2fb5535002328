using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The whole diskless boot of the test OS: dnsmasq chains the VM's iPXE to
/// the boot script, iPXE loads the vDisk's kernel and initrd over HTTP,
/// the initramfs (client/linux) connects its root over NBD and mounts it.
/// </summary>
public sealed class NetworkRootBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_diskless_vm_boots_its_vdisk_over_nbd_as_the_device_the_database_names()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "testos");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:10:01", "--name", "lab-pc1");
        await site.Cli.OkAsync("assign", "lab-pc1", "testos");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync("52:54:00:5b:10:01");
        var up = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"QEMU start to test OS: {up.Seconds:F1} s ({up.Line})");

        var (name, machineId) = await TestOs.DeviceAsync(site, "lab-pc1");
        Assert.Equal(name, up["hostname"]);
        Assert.Equal(machineId, up["machine-id"]);
        Assert.Equal("/dev/nbd0p2", up["root"]);
        Assert.Equal("server-disk", up["cache"]);
        Assert.Equal($"{name}\n{machineId}\n", await vm.RunAsync("cat /etc/hostname /etc/machine-id"));

        // The initramfs took the address iPXE got from dnsmasq (streamboot.ip, BOOTIF) instead of asking DHCP
        // again: one DHCP exchange per boot, the address the same, the NIC up.
        var configured = Assert.Single(vm.Console.Split('\n'), l => l.Contains("bringing up the network", StringComparison.Ordinal));
        Assert.Matches($@"\(ip={site.Network.Prefix.Replace(".", @"\.", StringComparison.Ordinal)}\.1\d\d::[^:]*:255\.255\.255\.0:::off:", configured);
        var address = configured[(configured.IndexOf("ip=", StringComparison.Ordinal) + 3)..configured.IndexOf("::", StringComparison.Ordinal)];
        Assert.Contains($"inet {address}/24", await vm.RunAsync("ip -4 addr show"), StringComparison.Ordinal);
        Assert.Single(Regex.Matches(site.DnsmasqOutput, @"DHCPACK\("));

        var session = await TestOs.LiveSessionAsync(site, "lab-pc1");
        Assert.True(session is not null, "no live session for lab-pc1 while it runs");
        Assert.Equal("nbd", session.Value.GetProperty("protocol").GetString());
        Assert.Equal("testos", session.Value.GetProperty("vDisk").GetString());

        // iPXE's kernel and initrd went out by sendfile (Http/BootFileSender): the script's
        // connection closed, so iPXE fetched them on a new one the fast path saw first.
        var metrics = await site.Network.ExecAsync("curl", "-sf", $"http://127.0.0.1:{BootSite.HttpPort}/metrics");
        Assert.Contains("streamboot_http_boot_files_sendfile_total{} 2\n", metrics.Stdout, StringComparison.Ordinal);
    }
}
