using Streamboot.Testing;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The site <see cref="BootstrapBootTests"/> share, with the one ISO they
/// boot: <c>streamboot serve</c> without DHCP, the site's own DHCP server
/// (dnsmasq, addresses only), the test OS and an empty vDisk, and
/// <c>streamboot bootstrap</c>'s image made for this server.
/// </summary>
public sealed class BootstrapMedium : IAsyncLifetime
{
    private BootSite? _site;

    public BootSite Site => _site ?? throw new InvalidOperationException("the bootstrap site is not set up");

    public string Iso { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(Site, "testos");
        await Site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M");
        await Site.StartServerAsync();
        await Site.StartExistingDhcpAsync();
        Iso = Site.Folder.Combine("bootstrap.iso");
        await Site.Cli.OkAsync("bootstrap", "--out", Iso, "--server", $"{Site.Network.ServerAddress}:{BootSite.HttpPort}");
    }

    /// <summary>
    /// QEMU arguments for the ISO written to a USB stick of its own (a copy,
    /// as dd makes) on an xHCI controller, first in the boot order.
    /// </summary>
    public string[] UsbStick(string mac)
    {
        var stick = Site.Folder.Combine($"stick-{mac.Replace(':', '-')}.img");
        File.Copy(Iso, stick, overwrite: true);
        return ["-device", "qemu-xhci", "-drive", $"if=none,id=stick,format=raw,file={stick}", "-device", "usb-storage,drive=stick,bootindex=0"];
    }

    /// <summary>
    /// A UEFI machine (OVMF, its own variable store) whose NIC has no boot
    /// ROM (OVMF's virtio driver is what GRUB's efinet uses). When the
    /// medium has a place in QEMU's boot order (the stick), the NIC gets the
    /// next one: OVMF then starts the drivers of the devices in that order
    /// only, and GRUB, finding no network card, could not do DHCP (seen: "no
    /// network card found"). With
    /// <paramref name="secureBoot"/>: OVMF's Secure Boot build on Q35 with
    /// SMM and the variable store with Microsoft's keys enrolled, as
    /// <see cref="SecureBootBootTests"/> starts it. 512 MiB: GRUB holds the
    /// kernel and initrd in memory.
    /// </summary>
    public Task<QemuVm> StartUefiVmAsync(string mac, bool secureBoot, IEnumerable<string> medium)
    {
        var code = secureBoot ? "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd" : "/usr/share/OVMF/OVMF_CODE_4M.fd";
        var template = secureBoot ? "/usr/share/OVMF/OVMF_VARS_4M.ms.fd" : "/usr/share/OVMF/OVMF_VARS_4M.fd";
        Assert.True(File.Exists(code) && File.Exists(template), $"{code} or {template} is missing: apt-get install ovmf (test.sh installs it)");
        var vars = Site.Folder.Combine($"OVMF_VARS.{mac.Replace(':', '-')}.fd");
        File.Copy(template, vars, overwrite: true);
        string[] firmware = secureBoot
            ? ["-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"]
            : [];
        return Site.StartVmAsync(
            mac,
            [
                .. firmware,
                "-drive", $"if=pflash,format=raw,unit=0,file={code},readonly=on",
                "-drive", $"if=pflash,format=raw,unit=1,file={vars}",
                .. medium,
            ],
            nic: medium.Any(a => a.Contains("bootindex", StringComparison.Ordinal)) ? "virtio-net-pci,romfile=,bootindex=1" : "virtio-net-pci,romfile=",
            memoryMiB: 512);
    }

    public async Task DisposeAsync()
    {
        if (_site is not null)
        {
            await _site.DisposeAsync();
        }
    }
}
