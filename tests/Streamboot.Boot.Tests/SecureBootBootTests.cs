using System.Diagnostics;
using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// Network boot with Secure Boot on: OVMF's Secure Boot firmware with
/// Microsoft's keys enrolled (Q35 with SMM, as the firmware needs) does PXE
/// against Streamboot's DHCP, starts the Microsoft-signed shim, which starts
/// Debian's signed GRUB, which loads the configuration Streamboot decided
/// for the machine, then its Debian-signed kernel and the initrds over TFTP;
/// the test OS comes up on its streamed root and says the kernel saw Secure
/// Boot on. A kernel without a signature is refused in words on the
/// machine's screen, in the server's log and in <c>session list</c>, and the
/// machine boots by itself once the kernel is a signed one again.
/// </summary>
public sealed class SecureBootBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_secure_boot_machine_boots_the_signed_chain_to_its_streamed_root_with_secure_boot_on()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "testos");
        await site.Cli.OkAsync("collection", "add", "secure", "--boot-loader", "secure-boot");
        await site.Cli.OkAsync("device", "add", "52:54:00:5e:10:01", "--name", "sb-pc1", "--collection", "secure");
        await site.Cli.OkAsync("assign", "sb-pc1", "testos");
        await site.StartServerAsync(site.DhcpFlags("full"));

        var vm = await StartSecureBootVmAsync(site, "52:54:00:5e:10:01");
        await vm.WaitForAsync("Streamboot: GRUB of the Secure Boot chain (Secure Boot on)", TimeSpan.FromMinutes(3));
        var up = await TestOs.WaitUpAsync(vm, TimeSpan.FromMinutes(5));
        output.WriteLine($"QEMU start to test OS with Secure Boot on: {up.Seconds:F1} s ({up.Line})");
        output.WriteLine($"QEMU start to GRUB: {vm.SecondsUntilSeen("Welcome to GRUB!"):F1} s, to its configuration: {vm.SecondsUntilSeen("Streamboot: this is sb-pc1"):F1} s");
        foreach (var line in site.Server!.Output.Split('\n').Where(l => (l.Contains("TFTP", StringComparison.Ordinal) && l.Contains(" read '", StringComparison.Ordinal)) || l.Contains("Boot:", StringComparison.Ordinal)))
        {
            output.WriteLine(line.Trim());
        }

        Assert.Equal("on", up["secureboot"]);
        var (name, machineId) = await TestOs.DeviceAsync(site, "sb-pc1");
        Assert.Equal(name, up["hostname"]);
        Assert.Equal(machineId, up["machine-id"]);
        Assert.Equal("/dev/nbd0p2", up["root"]);
        // The kernel locked itself down, as a Debian kernel does when the firmware enforces Secure Boot.
        Assert.Contains("Kernel is locked down from EFI Secure Boot", await vm.RunAsync("dmesg"), StringComparison.Ordinal);
        // GRUB's path of the kernel is on the command line (BOOT_IMAGE): a token, never the boot's key.
        var cmdline = await vm.RunAsync("cat /proc/cmdline");
        Assert.Matches(@"BOOT_IMAGE=\(tftp,[0-9.]+\)/streamboot/files/testos/sb-pc1/[0-9a-f]{32}/vmlinuz", cmdline);

        var server = site.Server!;
        await server.WaitForOutputAsync("read 'shimx64.efi'");
        await server.WaitForOutputAsync("read 'grubx64.efi'");
        await server.WaitForOutputAsync("boots vDisk testos version 1 as sb-pc1 (platform efi, arch x86_64, Secure Boot chain, Secure Boot on)");
        // GRUB asks again when an answer takes over 400 ms, and may read a configuration twice: one decision, one key all the same.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(server.Output, "boots vDisk testos version 1 as sb-pc1"));
        await server.WaitForOutputAsync("read 'streamboot/files/testos/sb-pc1/TOKEN/vmlinuz'");
        await server.WaitForOutputAsync("read 'streamboot/key/KEY/streamboot-key.cpio'");
        var session = await TestOs.LiveSessionAsync(site, "sb-pc1");
        Assert.True(session is not null, "no live session for sb-pc1 while it runs");
        Assert.Equal("nbd", session.Value.GetProperty("protocol").GetString());
    }

    [Fact]
    public async Task An_unsigned_kernel_is_refused_visibly_and_the_machine_boots_once_its_kernel_is_signed_again()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "testos");
        // The device's own setting; its collection says nothing (auto).
        await site.Cli.OkAsync("device", "add", "52:54:00:5e:10:02", "--name", "sb-pc2", "--boot-loader", "secure-boot");
        await site.Cli.OkAsync("assign", "sb-pc2", "testos");
        var kernel = Path.Combine((await site.Cli.JsonAsync("vdisk", "show", "testos")).GetProperty("storePath").GetString()!, "boot", "vmlinuz");
        var signed = site.Folder.Combine("vmlinuz.signed");
        File.Copy(kernel, signed);
        var removed = await ProcessRunner.RunAsync("sbattach", ["--remove", kernel]);
        Assert.True(removed.ExitCode == 0, $"sbattach --remove (apt-get install sbsigntool): {removed}");
        await site.StartServerAsync(site.DhcpFlags("full"));

        var vm = await StartSecureBootVmAsync(site, "52:54:00:5e:10:02");
        await vm.WaitForAsync("Streamboot: Secure Boot is on and the kernel of vDisk 'testos'", TimeSpan.FromMinutes(3));
        output.WriteLine($"QEMU start to the refusal on screen: {vm.SinceStart.Elapsed.TotalSeconds:F1} s");
        await WaitForWrappedAsync(vm, "Streamboot: Secure Boot is on and the kernel of vDisk 'testos' version 1 (boot/vmlinuz) would be refused by shim: it carries no signature.", TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("bad shim signature", vm.Console, StringComparison.Ordinal);
        await site.Server!.WaitForOutputAsync("Boot: refused 52:54:00:5e:10:02 from");
        Assert.Contains("(KernelNotTrusted): Secure Boot is on and the kernel of vDisk 'testos' version 1 (boot/vmlinuz) would be refused by shim: it carries no signature.", site.Server.Output, StringComparison.Ordinal);
        var list = await site.Cli.OkAsync("session", "list");
        output.WriteLine(list.Stdout);
        Assert.Contains("Refused boots", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("sb-pc2", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("kernel-not-trusted", list.Stdout, StringComparison.Ordinal);
        var refused = Assert.Single((await site.Cli.JsonAsync("session", "list", "--refused")).EnumerateArray());
        Assert.Equal("sb-pc2", refused.GetProperty("device").GetString());
        Assert.Equal("kernel-not-trusted", refused.GetProperty("reason").GetString());

        // The admin puts the signed kernel back: the machine, asking again every few seconds, boots by itself.
        var fixedAt = Stopwatch.StartNew();
        File.Copy(signed, kernel, overwrite: true);
        var up = await TestOs.WaitUpAsync(vm, TimeSpan.FromMinutes(4));
        output.WriteLine($"kernel signed again to test OS up: {fixedAt.Elapsed.TotalSeconds:F1} s");
        Assert.Equal("on", up["secureboot"]);
        Assert.Equal("sb-pc2", up["hostname"]);
        Assert.Equal(0, (await site.Cli.JsonAsync("session", "list", "--refused")).GetArrayLength());
    }

    [Fact]
    public async Task Grub_shows_the_registration_menu_and_the_boot_menu_the_decision_gives()
    {
        await using var site = await BootSite.CreateAsync();
        await site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M");
        await site.Cli.OkAsync("vdisk", "create", "other", "--size", "64M", "--description", "The other image");
        await site.Cli.OkAsync("collection", "add", "lab", "--pattern", "LAB-##", "--policy", "menu", "--receives-unknown", "--boot-loader", "secure-boot");
        await site.Cli.OkAsync("device", "add", "52:54:00:5e:10:04", "--name", "menu-pc", "--collection", "lab");
        await site.Cli.OkAsync("assign", "menu-pc", "gold");
        await site.Cli.OkAsync("assign", "menu-pc", "other", "--default");
        await site.StartServerAsync(site.DhcpFlags("full"));

        var unknown = await StartSecureBootVmAsync(site, "52:54:00:5e:10:03");
        var menu = await StartSecureBootVmAsync(site, "52:54:00:5e:10:04");

        // An unknown machine in a collection whose policy is the menu: GRUB's menu of vDisks, no timeout; Enter picks the first.
        await unknown.WaitForAsync("Do not register; boot from the next device", TimeSpan.FromMinutes(3));
        Assert.Contains("Streamboot: this machine (52:54:00:5e:10:03) is not registered - pick a vDisk to register it with", unknown.Console, StringComparison.Ordinal);
        Assert.Contains("other - The other image", unknown.Console, StringComparison.Ordinal);
        await unknown.SendLineAsync("");
        // gold has no kernel: GRUB cannot SAN-boot it, and says so (once registered; then as the device it now is).
        await WaitForWrappedAsync(unknown, "Streamboot: registered this machine as LAB-01 in collection lab, but vDisk 'gold' has no kernel", TimeSpan.FromMinutes(1));
        Assert.Equal("LAB-01", (await site.Cli.JsonAsync("device", "show", "52:54:00:5e:10:03")).GetProperty("name").GetString());
        await unknown.WaitForAsync("Streamboot: vDisk 'gold' has no kernel", TimeSpan.FromMinutes(1));

        // A device with two vDisks: GRUB's menu falls to the default (other) after the timeout.
        await menu.WaitForAsync("Streamboot: menu-pc - choose a vDisk", TimeSpan.FromMinutes(3));
        await menu.WaitForAsync("Streamboot: menu-pc chose vDisk other", TimeSpan.FromMinutes(1));
        await menu.WaitForAsync("Streamboot: vDisk 'other' has no kernel", TimeSpan.FromMinutes(1));
        await site.Server!.WaitForOutputAsync("Boot: 52:54:00:5e:10:04 from");
        Assert.Contains("(menu-pc) gets a menu of 2 vDisks", site.Server.Output, StringComparison.Ordinal);
    }

    /// <summary>Waits for text that GRUB may have wrapped at its terminal's width (line breaks read as spaces).</summary>
    private static async Task WaitForWrappedAsync(QemuVm vm, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var console = vm.Console;
            if (System.Text.RegularExpressions.Regex.Replace(console, @"\s+", " ").Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the console did not show '{text}' in {timeout.TotalSeconds} s:\n{console[^Math.Min(console.Length, 3000)..]}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>
    /// OVMF's Secure Boot build (SMM, so the OS cannot change its variables)
    /// with a copy of the variable store that has Microsoft's keys enrolled
    /// (KEK and db: the UEFI CA that signs shim), no NIC ROM (OVMF's own
    /// network stack does the PXE), and 512 MiB: GRUB holds the kernel and
    /// initrd in memory before Linux starts.
    /// </summary>
    private static Task<QemuVm> StartSecureBootVmAsync(BootSite site, string mac)
    {
        const string code = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
        const string msVars = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";
        Assert.True(File.Exists(code) && File.Exists(msVars), $"{code} or {msVars} is missing: apt-get install ovmf (test.sh installs it)");
        var vars = site.Folder.Combine($"OVMF_VARS.{mac.Replace(':', '-')}.fd");
        File.Copy(msVars, vars, overwrite: true);
        return site.StartVmAsync(
            mac,
            [
                "-machine", "q35,smm=on",
                "-global", "driver=cfi.pflash01,property=secure,value=on",
                "-drive", $"if=pflash,format=raw,unit=0,file={code},readonly=on",
                "-drive", $"if=pflash,format=raw,unit=1,file={vars}",
                "-boot", "n",
            ],
            nic: "virtio-net-pci,romfile=",
            memoryMiB: 512);
    }
}
