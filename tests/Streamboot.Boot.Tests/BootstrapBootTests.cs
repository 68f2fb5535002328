namespace Streamboot.Boot.Tests;

/// <summary>The bootstrap ISO on a network with no PXE answer: a site's ordinary DHCP server (dnsmasq) gives the address, the ISO's iPXE finds Streamboot.</summary>
public sealed class BootstrapBootTests
{
    [Fact]
    public async Task The_bootstrap_iso_reaches_the_boot_script_with_no_pxe_on_the_network()
    {
        await using var site = await BootSite.CreateAsync();
        await site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M");
        await site.StartServerAsync();
        await site.StartExistingDhcpAsync();
        var iso = site.Folder.Combine("bootstrap.iso");
        await site.Cli.OkAsync("bootstrap", "--out", iso, "--server", $"{site.Network.ServerAddress}:{BootSite.HttpPort}");

        // No NIC boot ROM at all: the CD is the only way in.
        var vm = await site.StartVmAsync("52:54:00:5b:00:01", ["-boot", "d", "-cdrom", iso]);
        await vm.WaitForAsync("Streamboot bootstrap: this medium boots from", TimeSpan.FromMinutes(2));
        await vm.WaitForAsync("Streamboot: this machine (52:54:00:5b:00:01) is not registered", TimeSpan.FromMinutes(2));
        await site.Server!.WaitForOutputAsync("refused 52:54:00:5b:00:01");

        // Registered while it waits, it boots on its next try by itself.
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:00:01", "--name", "kiosk1");
        await site.Cli.OkAsync("assign", "kiosk1", "gold");
        await vm.WaitForAsync("Streamboot: booting vDisk gold version 1", TimeSpan.FromMinutes(1));
        await vm.WaitForAsync("Streamboot: this is kiosk1", TimeSpan.FromSeconds(10));
    }
}
