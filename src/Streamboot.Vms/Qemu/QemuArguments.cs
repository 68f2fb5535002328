using System.Globalization;

namespace Streamboot.Vms.Qemu;

/// <summary>
/// The QEMU command line for a VM. The hardware follows the guest family
/// (drivers the installer has), the machine type (Q35's AHCI or the i440FX's
/// IDE channels) and the firmware; the VM runs detached, with its serial
/// port on a socket that also logs to a file, QMP on another socket and the
/// screen on VNC bound to loopback.
/// </summary>
public static class QemuArguments
{
    /// <summary>Where QEMU's NAT puts the host, as the guest sees it (slirp's default gateway).</summary>
    public const string NatHostAddress = "10.0.2.2";

    public static IReadOnlyList<string> Build(VmHardware vm, VmFolder folder, Accelerator accelerator, OvmfFirmware? ovmf, bool canCreateTaps)
    {
        if (accelerator == Accelerator.Auto)
        {
            throw new ArgumentException("Resolve the accelerator (probe KVM) before building the command line.", nameof(accelerator));
        }

        var args = new List<string>
        {
            "-name", vm.Name,
            "-uuid", vm.Uuid.ToString("D"),
            "-machine", vm.MachineType,
            "-accel", accelerator == Accelerator.Kvm ? "kvm" : "tcg",
            // KVM passes the host CPU through; under emulation "max" offers
            // every feature QEMU can emulate (RHEL 9 and newer need x86-64-v2,
            // which QEMU's default qemu64 model lacks).
            "-cpu", accelerator == Accelerator.Kvm ? "host" : "max",
            "-smp", Invariant($"cpus={vm.Cpus},sockets={vm.Sockets},cores={vm.CoresPerSocket},threads=1"),
            "-m", Invariant($"{vm.MemoryMiB}"),
            // Only the devices asked for: no default CD-ROM, floppy, NIC or monitor.
            "-nodefaults",
            "-rtc", vm.GuestOs == GuestOsFamily.Windows ? "base=localtime" : "base=utc",
            "-vga", "std",
            "-display", "none",
            // The screen, for installers that have no serial console: the
            // first free display from :0, on loopback only (ssh -L to reach it).
            "-vnc", "127.0.0.1:0,to=99",
            "-device", "qemu-xhci,id=xhci",
            "-device", "usb-tablet,bus=xhci.0",
            "-chardev", $"socket,id=serial0,path={Opt(folder.ConsoleSocket)},server=on,wait=off,logfile={Opt(folder.ConsoleLog)},logappend=on",
            "-serial", "chardev:serial0",
            "-qmp", $"unix:{Opt(folder.QmpSocket)},server=on,wait=off",
            "-pidfile", folder.PidFile,
            "-daemonize",
            "-boot", "menu=off,strict=off",
            "-msg", "timestamp=off",
        };

        if (vm.Firmware == VmFirmware.Bios)
        {
            // SeaBIOS mirrors its screen (and iPXE's, and boot loaders' that
            // use the BIOS) to this port, as it does with graphics=off.
            args.AddRange(["-fw_cfg", $"name=etc/sercon-port,file={Opt(folder.SerconPort)}"]);
        }
        else
        {
            var firmware = ovmf ?? throw new ArgumentNullException(nameof(ovmf), "A UEFI VM needs OVMF.");
            args.AddRange(["-drive", $"if=pflash,format=raw,unit=0,readonly=on,file={Opt(firmware.Code)}"]);
            args.AddRange(["-drive", $"if=pflash,format=raw,unit=1,file={Opt(folder.UefiVars)}"]);
        }

        var q35 = QemuSystem.IsQ35(vm.MachineType);
        if (vm.DiskFile is not null)
        {
            args.AddRange(["-drive", $"if=none,id=disk0,file={Opt(vm.DiskFile)},format={vm.DiskFormat ?? "raw"},cache=writeback,discard=unmap"]);
            args.AddRange(DiskDevice(vm.DiskBus ?? DefaultDiskBus(vm.GuestOs, vm.MachineType), q35));
        }

        if (vm.InstallerIso is not null)
        {
            args.AddRange(["-drive", $"if=none,id=cd0,media=cdrom,readonly=on,format=raw,file={Opt(vm.InstallerIso)}"]);
            args.AddRange(["-device", $"ide-cd,drive=cd0,{IdeSlot(q35, 1)},bootindex=2"]);
        }

        if (vm.SeedFile is not null)
        {
            args.AddRange(["-drive", $"if=none,id=cd1,media=cdrom,readonly=on,format=raw,file={Opt(vm.SeedFile)}"]);
            args.AddRange(["-device", $"ide-cd,drive=cd1,{IdeSlot(q35, 2)}"]);
        }

        if (vm.Network != VmNetworkMode.None)
        {
            args.AddRange(["-netdev", NetDev(vm, folder, canCreateTaps)]);
            var model = vm.GuestOs switch
            {
                GuestOsFamily.Linux => "virtio-net-pci",
                GuestOsFamily.Windows when q35 => "e1000e",
                _ => "e1000",
            };

            // A diskless VM boots from its network card's PXE ROM (iPXE in
            // QEMU's ROMs); every other VM's card has no ROM, so an empty
            // disk goes to the installer instead of waiting on PXE.
            args.AddRange(["-device", vm.Network == VmNetworkMode.Netboot
                ? $"{model},netdev=net0,mac={vm.Mac},bootindex=1"
                : $"{model},netdev=net0,mac={vm.Mac},romfile="]);
        }

        return args;
    }

    /// <summary>What a guest family's installer has drivers for: virtio for Linux, else SATA on Q35 and IDE on the i440FX.</summary>
    public static VmDiskBus DefaultDiskBus(GuestOsFamily guest, string machineType) =>
        guest == GuestOsFamily.Linux ? VmDiskBus.VirtioBlk : QemuSystem.IsQ35(machineType) ? VmDiskBus.Sata : VmDiskBus.Ide;

    /// <summary>The controller (when the machine has none built in) and the disk on it, for drive disk0.</summary>
    private static string[] DiskDevice(VmDiskBus bus, bool q35) => bus switch
    {
        VmDiskBus.VirtioBlk => ["-device", "virtio-blk-pci,drive=disk0,bootindex=1"],
        VmDiskBus.VirtioScsi => ["-device", "virtio-scsi-pci,id=scsi0", "-device", "scsi-hd,bus=scsi0.0,drive=disk0,bootindex=1"],
        // Q35's ICH9 has AHCI built in (its ports are QEMU's ide.N buses); the i440FX gets an AHCI card.
        VmDiskBus.Sata when q35 => ["-device", $"ide-hd,drive=disk0,{IdeSlot(q35, 0)},bootindex=1"],
        VmDiskBus.Sata => ["-device", "ahci,id=ahci0", "-device", "ide-hd,drive=disk0,bus=ahci0.0,bootindex=1"],
        // NVMe needs a serial number: the guest names the disk by it (/dev/disk/by-id).
        VmDiskBus.Nvme => ["-device", "nvme,id=nvme0,serial=streamboot-disk0,drive=disk0,bootindex=1"],
        VmDiskBus.Ide when !q35 => ["-device", $"ide-hd,drive=disk0,{IdeSlot(q35, 0)},bootindex=1"],
        _ => throw new ArgumentException($"A {bus} disk does not fit this machine (Q35 has no IDE controller).", nameof(bus)),
    };

    /// <summary>
    /// The i440FX has two IDE channels of two units; Q35's AHCI has six
    /// ports of one. Slot 0 is the disk, then the installer, then the seed.
    /// </summary>
    private static string IdeSlot(bool q35, int slot) =>
        q35 ? Invariant($"bus=ide.{slot}") : Invariant($"bus=ide.{slot / 2},unit={slot % 2}");

    private static string NetDev(VmHardware vm, VmFolder folder, bool canCreateTaps)
    {
        if (vm.Bridge is { } bridge && vm.Network is VmNetworkMode.Bridge or VmNetworkMode.Netboot)
        {
            // As root QEMU makes the tap itself and the VM's script puts it on
            // the bridge (the tap goes when QEMU does); otherwise QEMU's
            // setuid bridge helper does both, if /etc/qemu/bridge.conf allows.
            return canCreateTaps
                ? $"tap,id=net0,ifname={TapName(vm)},script={Opt(folder.BridgeScript)},downscript=no"
                : $"bridge,id=net0,br={bridge}";
        }

        // QEMU's NAT. Its DHCP names the boot file: a netboot VM's iPXE
        // fetches this server's boot script over HTTP through the NAT.
        return vm.Network == VmNetworkMode.Netboot && vm.NetbootUrl is { } url
            ? $"user,id=net0,bootfile={Opt(url)}"
            : "user,id=net0";
    }

    /// <summary>A tap name unique to the VM within the 15 characters Linux allows.</summary>
    public static string TapName(VmHardware vm) => "sbvm" + vm.Mac.Replace(":", "", StringComparison.Ordinal)[4..];

    /// <summary>A value inside a QEMU option list, where a comma is written twice.</summary>
    private static string Opt(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
