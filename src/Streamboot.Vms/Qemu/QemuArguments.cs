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
            // Secure Boot's firmware keeps its variables behind System Management Mode.
            "-machine", vm.Extra.SecureBoot ? vm.MachineType + ",smm=on" : vm.MachineType,
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
            "-vga", KebabName(vm.Extra.Display),
            "-display", "none",
            // The screen, for installers that have no serial console: the
            // first free display from :0, on loopback only (ssh -L to reach it).
            "-vnc", "127.0.0.1:0,to=99",
            "-chardev", $"socket,id=serial0,path={Opt(folder.ConsoleSocket)},server=on,wait=off,logfile={Opt(folder.ConsoleLog)},logappend=on",
            "-serial", "chardev:serial0",
            "-qmp", $"unix:{Opt(folder.QmpSocket)},server=on,wait=off",
            "-pidfile", folder.PidFile,
            "-daemonize",
            "-boot", "menu=off,strict=off",
            "-msg", "timestamp=off",
        };

        AddUsbSoundAndSerial(args, vm, folder);
        if (vm.Firmware == VmFirmware.Bios)
        {
            // SeaBIOS mirrors its screen (and iPXE's, and boot loaders' that
            // use the BIOS) to this port, as it does with graphics=off.
            args.AddRange(["-fw_cfg", $"name=etc/sercon-port,file={Opt(folder.SerconPort)}"]);
        }
        else
        {
            var firmware = ovmf ?? throw new ArgumentNullException(nameof(ovmf), "A UEFI VM needs OVMF.");
            if (vm.Extra.SecureBoot)
            {
                // Only SMM code may write the flash: the guest cannot turn Secure Boot off behind the firmware's back.
                args.AddRange(["-global", "driver=cfi.pflash01,property=secure,value=on"]);
            }

            args.AddRange(["-drive", $"if=pflash,format=raw,unit=0,readonly=on,file={Opt(firmware.Code)}"]);
            args.AddRange(["-drive", $"if=pflash,format=raw,unit=1,file={Opt(folder.UefiVars)}"]);
        }

        var q35 = QemuSystem.IsQ35(vm.MachineType);
        var controllers = new HashSet<string>(StringComparer.Ordinal);
        if (vm.DiskFile is not null)
        {
            args.AddRange(["-drive", $"if=none,id=disk0,file={Opt(vm.DiskFile)},format={vm.DiskFormat ?? "raw"},cache=writeback,discard=unmap"]);
            args.AddRange(DiskDevice(vm.DiskBus ?? DefaultDiskBus(vm.GuestOs, vm.MachineType), q35, 0, controllers));
        }

        for (var i = 0; i < vm.Extra.Disks.Count; i++)
        {
            var extra = vm.Extra.Disks[i];
            var id = Invariant($"disk{i + 1}");
            args.AddRange(["-drive", $"if=none,id={id},file={Opt(extra.File)},format={(extra.Format == ImageFormat.Qcow2 ? "qcow2" : "raw")},cache=writeback,discard=unmap"]);
            args.AddRange(DiskDevice(extra.Bus, q35, i + 1, controllers));
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

        var model = vm.GuestOs switch
        {
            GuestOsFamily.Linux => "virtio-net-pci",
            GuestOsFamily.Windows when q35 => "e1000e",
            _ => "e1000",
        };
        for (var i = 0; i < vm.Extra.Nics.Count; i++)
        {
            var nic = vm.Extra.Nics[i];
            var id = Invariant($"net{i + 1}");
            args.AddRange(["-netdev", nic.Bridge is { } br
                ? (canCreateTaps ? $"tap,id={id},ifname={TapName(nic.Mac)},script={Opt(folder.BridgeScriptFor(i + 1))},downscript=no" : $"bridge,id={id},br={br}")
                : $"user,id={id}"]);
            args.AddRange(["-device", $"{model},netdev={id},mac={nic.Mac},romfile="]);
        }

        if (vm.Network != VmNetworkMode.None)
        {
            args.AddRange(["-netdev", NetDev(vm, folder, canCreateTaps)]);

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

    /// <summary>
    /// The controller (when the machine has none built in, once per VM:
    /// <paramref name="controllers"/>) and disk <paramref name="index"/> on
    /// it. The first disk boots. SATA disks past the first go on the AHCI
    /// ports after the two CD-ROMs' (Q35's ide.1 and ide.2); IDE has room
    /// for one more disk after the CD-ROMs (the i440FX's ide.1 unit 1).
    /// </summary>
    private static string[] DiskDevice(VmDiskBus bus, bool q35, int index, HashSet<string> controllers)
    {
        var drive = Invariant($"disk{index}");
        var boot = index == 0 ? ",bootindex=1" : "";
        var devices = new List<string>();
        void Controller(string device, string id)
        {
            if (controllers.Add(id))
            {
                devices.AddRange(["-device", $"{device},id={id}"]);
            }
        }

        var port = index == 0 ? 0 : index + 2;
        switch (bus)
        {
            case VmDiskBus.VirtioBlk:
                devices.AddRange(["-device", $"virtio-blk-pci,drive={drive}{boot}"]);
                break;
            case VmDiskBus.VirtioScsi:
                Controller("virtio-scsi-pci", "scsi0");
                devices.AddRange(["-device", Invariant($"scsi-hd,bus=scsi0.0,scsi-id={index},drive={drive}{boot}")]);
                break;
            // Q35's ICH9 has AHCI built in (its ports are QEMU's ide.N buses); the i440FX gets an AHCI card.
            case VmDiskBus.Sata when q35:
                devices.AddRange(["-device", $"ide-hd,drive={drive},{IdeSlot(q35, port)}{boot}"]);
                break;
            case VmDiskBus.Sata:
                Controller("ahci", "ahci0");
                devices.AddRange(["-device", Invariant($"ide-hd,drive={drive},bus=ahci0.{index}{boot}")]);
                break;
            // NVMe needs a serial number: the guest names the disk by it (/dev/disk/by-id).
            case VmDiskBus.Nvme:
                devices.AddRange(["-device", Invariant($"nvme,id=nvme{index},serial=streamboot-{drive},drive={drive}{boot}")]);
                break;
            case VmDiskBus.Ide when !q35 && index <= 1:
                devices.AddRange(["-device", $"ide-hd,drive={drive},{IdeSlot(q35, index == 0 ? 0 : 3)}{boot}"]);
                break;
            default:
                throw new ArgumentException($"A {bus} disk does not fit this machine (Q35 has no IDE controller; the i440FX's IDE has room for two disks).", nameof(bus));
        }

        return [.. devices];
    }

    /// <summary>Whether disk <paramref name="index"/> (0 the first) on <paramref name="bus"/> has a place on this machine (<see cref="DiskDevice"/>'s slots).</summary>
    public static bool DiskFits(VmDiskBus bus, bool q35, int index) => bus switch
    {
        VmDiskBus.Sata => q35 ? index == 0 || index <= 3 : index <= 5,
        VmDiskBus.Ide => !q35 && index <= 1,
        _ => true,
    };

    /// <summary>The USB controller and tablet, the sound card and the serial ports after the console.</summary>
    private static void AddUsbSoundAndSerial(List<string> args, VmHardware vm, VmFolder folder)
    {
        var usb = vm.Extra.Usb switch
        {
            VmUsb.Xhci => "qemu-xhci",
            VmUsb.Ehci => "usb-ehci",
            VmUsb.Uhci => "piix3-usb-uhci",
            _ => null,
        };
        if (usb is not null)
        {
            args.AddRange(["-device", $"{usb},id=usb"]);
            if (vm.Extra.Tablet)
            {
                args.AddRange(["-device", "usb-tablet,bus=usb.0"]);
            }
        }

        if (vm.Extra.Sound != VmSound.None)
        {
            // The guest gets a card that plays; the host hears nothing (no audio server is assumed).
            args.AddRange(["-audiodev", "none,id=snd0"]);
            args.AddRange(vm.Extra.Sound == VmSound.Hda
                ? ["-device", "intel-hda,id=sound0", "-device", "hda-duplex,bus=sound0.0,audiodev=snd0"]
                : ["-device", "AC97,audiodev=snd0"]);
        }

        if (vm.Extra.Tpm)
        {
            // QEMU's TPM emulator backend talks to swtpm (VmRuntime starts it first); TIS is the interface every OS and OVMF drive.
            args.AddRange(["-chardev", $"socket,id=chrtpm,path={Opt(folder.TpmSocket)}", "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis,tpmdev=tpm0"]);
        }

        for (var i = 1; i < vm.Extra.SerialPorts; i++)
        {
            var id = Invariant($"serial{i}");
            args.AddRange(["-chardev", $"socket,id={id},path={Opt(folder.SerialSocket(i))},server=on,wait=off", "-serial", $"chardev:{id}"]);
        }
    }

    private static string KebabName(VmDisplay display) => display.ToString().ToLowerInvariant();

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
    public static string TapName(VmHardware vm) => TapName(vm.Mac);

    /// <summary>The tap of the network card with <paramref name="mac"/>: "sbvm" and the MAC's last four bytes.</summary>
    public static string TapName(string mac) => "sbvm" + mac.Replace(":", "", StringComparison.Ordinal)[4..];

    /// <summary>A value inside a QEMU option list, where a comma is written twice.</summary>
    private static string Opt(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
