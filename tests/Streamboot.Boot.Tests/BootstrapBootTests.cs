using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The bootstrap medium on a network with no PXE answer: a site's ordinary
/// DHCP server (dnsmasq) gives the address, the medium finds Streamboot.
/// One ISO (<see cref="BootstrapMedium"/>), booted from CD and from a USB
/// stick on SeaBIOS (ISOLINUX, iPXE), on OVMF (shim, GRUB) and on OVMF with
/// Secure Boot on and Microsoft's keys (shim, GRUB, locked down). Most VMs
/// only go as far as the server's answer for their MAC (a refusal: nobody
/// registered them); one registers and boots a vDisk over iPXE, and one
/// boots the test OS with Secure Boot on.
/// </summary>
public sealed class BootstrapBootTests(BootstrapMedium medium, ITestOutputHelper output) : IClassFixture<BootstrapMedium>
{
    [Fact]
    public async Task Bios_from_cd_reaches_the_boot_script_and_boots_once_registered()
    {
        var site = medium.Site;
        // No NIC boot ROM in the boot order: the CD is the only way in.
        await using var vm = await site.StartVmAsync("52:54:00:5b:00:01", ["-boot", "d", "-cdrom", medium.Iso]);
        await vm.WaitForAsync("Streamboot bootstrap: this medium boots from", TimeSpan.FromMinutes(2));
        await vm.WaitForAsync("Streamboot: this machine (52:54:00:5b:00:01) is not registered", TimeSpan.FromMinutes(2));
        await site.Server!.WaitForOutputAsync("refused 52:54:00:5b:00:01");
        Timeline(vm, "SeaBIOS, CD", "Streamboot bootstrap: this medium boots from", "is not registered");

        // Registered while it waits, it boots on its next try by itself.
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:00:01", "--name", "kiosk1");
        await site.Cli.OkAsync("assign", "kiosk1", "gold");
        await vm.WaitForAsync("Streamboot: booting vDisk gold version 1", TimeSpan.FromMinutes(1));
        await vm.WaitForAsync("Streamboot: this is kiosk1", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Bios_from_a_usb_stick_reaches_the_boot_script()
    {
        var mac = "52:54:00:5b:00:02";
        await using var vm = await medium.Site.StartVmAsync(mac, medium.UsbStick(mac));
        await vm.WaitForAsync("Streamboot bootstrap: this medium boots from", TimeSpan.FromMinutes(2));
        await vm.WaitForAsync($"Streamboot: this machine ({mac}) is not registered", TimeSpan.FromMinutes(2));
        await medium.Site.Server!.WaitForOutputAsync($"Boot: refused {mac} from");
        Timeline(vm, "SeaBIOS, USB stick", "Streamboot bootstrap: this medium boots from", "is not registered");
    }

    [Fact]
    public async Task Uefi_from_cd_starts_grub_which_shows_the_menu_of_the_machines_vdisks()
    {
        var site = medium.Site;
        var mac = "52:54:00:5b:00:03";
        await site.Cli.OkAsync("device", "add", mac, "--name", "menu-pc");
        await site.Cli.OkAsync("assign", "menu-pc", "testos");
        await site.Cli.OkAsync("assign", "menu-pc", "gold", "--default");

        await using var vm = await medium.StartUefiVmAsync(mac, secureBoot: false, ["-cdrom", medium.Iso, "-boot", "d"]);
        await vm.WaitForAsync("Streamboot bootstrap: this medium boots from", TimeSpan.FromMinutes(3));
        await vm.WaitForAsync($"Streamboot: GRUB of the Secure Boot chain (Secure Boot off), asking", TimeSpan.FromMinutes(2));
        // The server's bootstrap returns to show a menu; the medium's configuration ends so that GRUB draws it.
        await vm.WaitForAsync("Streamboot: menu-pc - choose a vDisk", TimeSpan.FromMinutes(1));
        await vm.WaitForAsync("Streamboot: menu-pc chose vDisk gold", TimeSpan.FromMinutes(1));
        // gold has no kernel, which GRUB needs (it cannot SAN-boot): said on the screen, asked again every few seconds.
        await vm.WaitForAsync("Streamboot: vDisk 'gold' has no kernel", TimeSpan.FromMinutes(1));
        await site.Server!.WaitForOutputAsync($"streamboot/grub/off/{mac}'");
        Assert.Contains($"Boot: {mac} from", site.Server.Output, StringComparison.Ordinal);
        Assert.Contains("(menu-pc) gets a menu of 2 vDisks", site.Server.Output, StringComparison.Ordinal);
        Timeline(vm, "OVMF, CD", "Streamboot bootstrap: this medium boots from", "Streamboot: menu-pc - choose a vDisk");
    }

    [Fact]
    public async Task Uefi_from_a_usb_stick_starts_grub_which_asks_for_the_machines_configuration()
    {
        var mac = "52:54:00:5b:00:04";
        await using var vm = await medium.StartUefiVmAsync(mac, secureBoot: false, medium.UsbStick(mac));
        await ReachesGrubConfigurationAsync(vm, mac, secureBoot: false, "OVMF, USB stick");
    }

    [Fact]
    public async Task Secure_boot_from_cd_starts_the_signed_chain_which_asks_with_secure_boot_on()
    {
        var mac = "52:54:00:5b:00:05";
        await using var vm = await medium.StartUefiVmAsync(mac, secureBoot: true, ["-cdrom", medium.Iso, "-boot", "d"]);
        await ReachesGrubConfigurationAsync(vm, mac, secureBoot: true, "OVMF Secure Boot, CD");
    }

    [Fact]
    public async Task Secure_boot_from_a_usb_stick_boots_the_test_os_on_its_streamed_root_with_secure_boot_on()
    {
        var site = medium.Site;
        var mac = "52:54:00:5b:00:06";
        await site.Cli.OkAsync("device", "add", mac, "--name", "stick-pc");
        await site.Cli.OkAsync("assign", "stick-pc", "testos");

        await using var vm = await medium.StartUefiVmAsync(mac, secureBoot: true, medium.UsbStick(mac));
        await vm.WaitForAsync("Streamboot: GRUB of the Secure Boot chain (Secure Boot on)", TimeSpan.FromMinutes(3));
        var up = await TestOs.WaitUpAsync(vm, TimeSpan.FromMinutes(5));
        Timeline(vm, "OVMF Secure Boot, USB stick", "Welcome to GRUB!", "Streamboot: this is stick-pc");
        output.WriteLine($"OVMF Secure Boot, USB stick: QEMU start to the test OS {up.Seconds:F1} s ({up.Line})");

        Assert.Equal("on", up["secureboot"]);
        var (name, machineId) = await TestOs.DeviceAsync(site, "stick-pc");
        Assert.Equal(name, up["hostname"]);
        Assert.Equal(machineId, up["machine-id"]);
        Assert.Equal("/dev/nbd0p2", up["root"]);
        Assert.Contains("Kernel is locked down from EFI Secure Boot", await vm.RunAsync("dmesg"), StringComparison.Ordinal);
        await site.Server!.WaitForOutputAsync($"Boot: {mac} from");
        Assert.Contains($"boots vDisk testos version 1 as stick-pc (platform efi, arch x86_64, Secure Boot chain, Secure Boot on)", site.Server.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The medium's GRUB got an address from the site's DHCP server, loaded
    /// the server's GRUB bootstrap over TFTP, and asked for this machine's
    /// configuration by its MAC, saying whether Secure Boot is on; the
    /// server decided (a refusal: the machine is not registered) and GRUB
    /// shows it.
    /// </summary>
    private async Task ReachesGrubConfigurationAsync(Streamboot.Testing.QemuVm vm, string mac, bool secureBoot, string what)
    {
        var state = secureBoot ? "on" : "off";
        await vm.WaitForAsync("Streamboot bootstrap: this medium boots from", TimeSpan.FromMinutes(3));
        await vm.WaitForAsync($"Streamboot: GRUB of the Secure Boot chain (Secure Boot {state}), asking", TimeSpan.FromMinutes(2));
        await vm.WaitForAsync($"({mac}) is not registered", TimeSpan.FromMinutes(1));
        var server = medium.Site.Server!;
        // GRUB asks for an absolute name: '/streamboot/grub/on/MAC'.
        await server.WaitForOutputAsync($"streamboot/grub/{state}/{mac}'");
        await server.WaitForOutputAsync($"Boot: refused {mac} from");
        Timeline(vm, what, "Streamboot bootstrap: this medium boots from", "is not registered");
    }

    private void Timeline(Streamboot.Testing.QemuVm vm, string what, string medium, string answer) =>
        output.WriteLine($"{what}: QEMU start to the medium's loader {vm.SecondsUntilSeen(medium):F1} s, to the server's answer {vm.SecondsUntilSeen(answer):F1} s");
}
