namespace Streamboot.Boot.Tests;

/// <summary>
/// Steps 1 and 2 of the boot with Streamboot's own DHCP: diskless VMs whose
/// NIC firmware is stock iPXE (ipxe-qemu) get their address and boot
/// information from Streamboot, fetch the boot script, and show what the
/// database decides: an unknown machine refused, then registered under a
/// new name once its collection says so; a device with two vDisks sees the
/// menu, which falls to the default.
/// </summary>
public sealed class PxeBootTests
{
    [Fact]
    public async Task Full_mode_dhcp_brings_unknown_known_and_menu_clients_to_their_boot_script()
    {
        await using var site = await BootSite.CreateAsync();
        await site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M");
        await site.Cli.OkAsync("vdisk", "create", "other", "--size", "64M", "--description", "The other image");
        await site.Cli.OkAsync("collection", "add", "lab", "--pattern", "LAB-##", "--policy", "refuse", "--default-vdisk", "gold", "--receives-unknown");
        await site.Cli.OkAsync("device", "add", "52:54:00:5c:00:02", "--name", "menu-pc");
        await site.Cli.OkAsync("assign", "menu-pc", "gold");
        await site.Cli.OkAsync("assign", "menu-pc", "other", "--default");
        await site.StartServerAsync(site.DhcpFlags("full"));

        var unknown = await site.StartVmAsync("52:54:00:5c:00:01");
        var menu = await site.StartVmAsync("52:54:00:5c:00:02");

        await unknown.WaitForAsync("Streamboot: this machine (52:54:00:5c:00:01) is not registered", TimeSpan.FromMinutes(3));
        Assert.Matches($@"net0: {site.Network.Prefix.Replace(".", "\\.", StringComparison.Ordinal)}\.1\d\d/255\.255\.255\.0", unknown.Console);
        // The DHCP answer names the script with the client's MAC and iPXE's own settings, which iPXE
        // filled in: one fetch of the decision, not a script that asks again saying who it is.
        // (iPXE prints the file name wrapped at 80 columns and each download without its query.)
        Assert.Contains($"Filename: http://{site.Network.ServerAddress}:{BootSite.HttpPort}/boot.ipxe?mac=52:54:00:5c:00:01&uuid=", unknown.Console, StringComparison.Ordinal);
        var beforeAnswer = unknown.Console[..unknown.Console.IndexOf("Streamboot: this machine", StringComparison.Ordinal)];
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(beforeAnswer, @"boot\.ipxe : \d+ bytes \[script\]"));
        await site.Cli.OkAsync("collection", "set", "lab", "--policy", "auto-register");
        await unknown.WaitForAsync("Streamboot: registered this machine as LAB-01 in collection lab", TimeSpan.FromMinutes(1));
        await unknown.WaitForAsync("booting vDisk gold version 1", TimeSpan.FromSeconds(10));
        Assert.Equal("LAB-01", (await site.Cli.JsonAsync("device", "show", "52:54:00:5c:00:01")).GetProperty("name").GetString());

        await menu.WaitForAsync("Streamboot: menu-pc - choose a vDisk", TimeSpan.FromMinutes(3));
        await menu.WaitForAsync("Streamboot: menu-pc chose vDisk other", TimeSpan.FromSeconds(30));
        await menu.WaitForAsync("booting vDisk other version 1", TimeSpan.FromSeconds(10));

        // The leases are the server's, in its database, by device.
        var leases = await site.Cli.JsonAsync("dhcp", "leases");
        var devices = leases.EnumerateArray().Select(l => (l.GetProperty("device").GetString(), l.GetProperty("state").GetString())).ToList();
        Assert.Contains(("LAB-01", "bound"), devices);
        Assert.Contains(("menu-pc", "bound"), devices);
        await site.Server!.WaitForOutputAsync("DHCP server (Full) listening on sbbr0");
    }

    [Fact]
    public async Task Uefi_firmware_loads_ipxe_efi_over_tftp_and_ipxe_then_fetches_the_script()
    {
        await using var site = await BootSite.CreateAsync();
        await site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M");
        await site.Cli.OkAsync("device", "add", "52:54:00:5c:02:01", "--name", "uefi-pc");
        await site.Cli.OkAsync("assign", "uefi-pc", "gold");
        await site.StartServerAsync(site.DhcpFlags("full"));

        // OVMF's own network stack (no iPXE ROM on the NIC) does the PXE part:
        // DHCP as x64 UEFI (option 93 = 7), then ipxe.efi over TFTP.
        var vm = await site.StartVmAsync(
            "52:54:00:5c:02:01",
            ["-bios", "/usr/share/ovmf/OVMF.fd", "-boot", "n"],
            nic: "virtio-net-pci,romfile=");
        await vm.WaitForAsync("Streamboot: this is uefi-pc", TimeSpan.FromMinutes(4));
        Assert.Contains("iPXE", vm.Console, StringComparison.Ordinal);
        await site.Server!.WaitForOutputAsync("read 'ipxe.efi'");   // TFTP: the whole file went out
        await site.Server!.WaitForOutputAsync("boots vDisk gold version 1 as uefi-pc (platform efi");
    }

    [Fact]
    public async Task Proxy_mode_answers_pxe_beside_the_networks_own_dhcp_server()
    {
        await using var site = await BootSite.CreateAsync();
        await site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M");
        await site.Cli.OkAsync("device", "add", "52:54:00:5c:01:01", "--name", "kiosk");
        await site.Cli.OkAsync("assign", "kiosk", "gold");
        await site.StartExistingDhcpAsync();
        await site.StartServerAsync(site.DhcpFlags("proxy"));

        var vm = await site.StartVmAsync("52:54:00:5c:01:01");
        await vm.WaitForAsync("Streamboot: this is kiosk", TimeSpan.FromMinutes(3));
        await vm.WaitForAsync("booting vDisk gold version 1", TimeSpan.FromSeconds(10));
        // The address came from dnsmasq (.100-.199 on the other host), the boot information from Streamboot.
        Assert.Matches($@"net0: {site.Network.Prefix.Replace(".", "\\.", StringComparison.Ordinal)}\.1\d\d/", vm.Console);
        await site.Server!.WaitForOutputAsync("boots vDisk gold version 1 as kiosk");
    }
}
