using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Streamboot.Data;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Vms.Qemu;

namespace Streamboot.Admin.VirtualMachines;

public sealed partial class VmAdmin
{
    private static readonly JsonSerializerOptions s_hardwareJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>
    /// Workstation's "Customize Hardware": more disks (SIZE[:BUS], new and
    /// blank, qcow2 in the VM's folder), more network cards (nat or
    /// bridge:BR), the sound card, USB controller and tablet, display and
    /// serial ports. Each is checked here, with its own message.
    /// </summary>
    private async Task<AdminResult<VmExtraHardware>> PlanExtraAsync(StreambootDbContext db, VmRequest request, string folder, string machine, GuestOsFamily family, VmDiskPlan? disk, string mac, CancellationToken cancellationToken)
    {
        var extra = new VmExtraHardware();
        var sound = extra.Sound;
        if (request.Sound is not null && !KebabCase.TryParse(request.Sound, out sound))
        {
            return AdminError.Invalid($"'{request.Sound}' is not a sound card; use none, hda (Intel HD Audio) or ac97");
        }

        var usb = extra.Usb;
        if (request.Usb is not null && !KebabCase.TryParse(request.Usb, out usb))
        {
            return AdminError.Invalid($"'{request.Usb}' is not a USB controller; use none, uhci (USB 1.1), ehci (USB 2.0) or xhci (USB 3)");
        }

        var tablet = request.Tablet ?? usb != VmUsb.None;
        if (tablet && usb == VmUsb.None)
        {
            return AdminError.Invalid("a USB tablet needs a USB controller; choose --usb uhci, ehci or xhci, or leave out the tablet (--no-tablet)");
        }

        var display = extra.Display;
        if (request.Display is not null && !KebabCase.TryParse(request.Display, out display))
        {
            return AdminError.Invalid($"'{request.Display}' is not a display adapter; use std, virtio, qxl, cirrus or none");
        }

        var tpm = request.Tpm ?? family == GuestOsFamily.Windows;
        if (tpm && Vms.Qemu.Swtpm.Missing() is { } noSwtpm)
        {
            return AdminError.Failed(noSwtpm);
        }

        var serial = request.SerialPorts ?? 1;
        if (serial is < 1 or > VmExtraHardware.MaxSerialPorts)
        {
            return AdminError.Invalid($"--serial-ports {serial}: give 1 to {VmExtraHardware.MaxSerialPorts} (the first is the console)");
        }

        var disks = request.AddDisks ?? [];
        if (disks.Count > VmExtraHardware.MaxExtraDisks)
        {
            return AdminError.Invalid($"{disks.Count} more disks is too many; at most {VmExtraHardware.MaxExtraDisks}");
        }

        if (disk is null && disks.Count > 0)
        {
            return AdminError.Invalid("a netboot VM is a diskless client: it has no disks (leave out --add-disk)");
        }

        var q35 = QemuSystem.IsQ35(machine);
        var extraDisks = new List<VmExtraDisk>();
        foreach (var spec in disks)
        {
            var index = extraDisks.Count + 1;
            var parts = spec.Split(':', 2);
            if (!ByteSize.TryParse(parts[0], out var size, out var sizeError))
            {
                return AdminError.Invalid($"--add-disk {spec}: {sizeError} (write SIZE or SIZE:BUS, such as 10G:virtio-scsi)");
            }

            if (size < VmDefaults.MinimumDiskBytes || size % VDiskAdmin.SectorSize != 0)
            {
                return AdminError.Invalid($"--add-disk {spec}: a disk is at least {ByteSize.Format(VmDefaults.MinimumDiskBytes)} and a whole number of {VDiskAdmin.SectorSize}-byte sectors");
            }

            var bus = disk!.Bus;
            if (parts.Length == 2 && !KebabCase.TryParse(parts[1], out bus))
            {
                return AdminError.Invalid($"--add-disk {spec}: '{parts[1]}' is not a disk type; use virtio-blk, virtio-scsi, sata, nvme or ide");
            }

            if (!QemuArguments.DiskFits(bus, q35, index))
            {
                return AdminError.Invalid($"--add-disk {spec}: there is no room for disk {index + 1} on {KebabCase.Of(bus)} on {machine} (Q35 has no IDE and 4 SATA ports for disks; the i440FX 2 IDE disks); choose another bus");
            }

            var file = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{request.Name}-disk{index + 1}.qcow2"));
            if (File.Exists(file))
            {
                return AdminError.Refused($"the disk file {file} exists; move it away (vm create never overwrites a disk)");
            }

            extraDisks.Add(new VmExtraDisk(file, ImageFormat.Qcow2, size, bus));
        }

        var nics = request.AddNics ?? [];
        if (nics.Count > VmExtraHardware.MaxExtraNics)
        {
            return AdminError.Invalid($"{nics.Count} more network cards is too many; at most {VmExtraHardware.MaxExtraNics}");
        }

        var extraNics = new List<VmExtraNic>();
        foreach (var spec in nics)
        {
            var parts = spec.Split(':', 2);
            var bridge = parts.Length == 2 ? parts[1] : null;
            if (parts[0] == "nat" && bridge is null)
            {
                extraNics.Add(new VmExtraNic(VmNetworkMode.Nat, null, await NewMacAsync(db, [mac, .. extraNics.Select(n => n.Mac)], cancellationToken)));
            }
            else if (parts[0] == "bridge" && bridge is { Length: > 0 and <= 15 } && bridge.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                extraNics.Add(new VmExtraNic(VmNetworkMode.Bridge, bridge, await NewMacAsync(db, [mac, .. extraNics.Select(n => n.Mac)], cancellationToken)));
            }
            else
            {
                return AdminError.Invalid($"--add-nic {spec}: write nat, or bridge:NAME with the host bridge's name (such as bridge:br0)");
            }
        }

        return extra with { Disks = extraDisks, Nics = extraNics, Sound = sound, Usb = usb, Tablet = tablet, Display = display, SerialPorts = serial, Tpm = tpm };
    }

    /// <summary>Makes the new blank disks of the customized hardware; each is added to <paramref name="made"/> first, so a failure takes it back.</summary>
    private static void MakeExtraDisks(VmExtraHardware extra, List<string> made)
    {
        foreach (var disk in extra.Disks)
        {
            made.Add(disk.File);
            Qcow2Image.Create(disk.File, disk.SizeBytes);
        }
    }

    /// <summary>Null for the hardware every VM had before it could be customized.</summary>
    internal static string? HardwareJson(VmExtraHardware extra) =>
        extra is { Disks.Count: 0, Nics.Count: 0, Sound: VmSound.None, Usb: VmUsb.Xhci, Tablet: true, Display: VmDisplay.Std, SerialPorts: 1, Tpm: false, SecureBoot: false }
            ? null
            : JsonSerializer.Serialize(extra, s_hardwareJson);

    internal static VmExtraHardware ExtraHardware(string? json) =>
        json is null ? new VmExtraHardware() : JsonSerializer.Deserialize<VmExtraHardware>(json, s_hardwareJson) ?? new VmExtraHardware();

    /// <summary>The customized hardware in words, a row each, for the summary page and <c>vm show</c>.</summary>
    public static IEnumerable<(string Key, string Value)> DescribeExtra(VmExtraHardware extra)
    {
        for (var i = 0; i < extra.Disks.Count; i++)
        {
            var d = extra.Disks[i];
            yield return (string.Create(CultureInfo.InvariantCulture, $"Disk {i + 2}"), $"{ByteSize.Format(d.SizeBytes)} qcow2 on {KebabCase.Of(d.Bus)}, sparse: {d.File}");
        }

        for (var i = 0; i < extra.Nics.Count; i++)
        {
            var n = extra.Nics[i];
            yield return (string.Create(CultureInfo.InvariantCulture, $"Network card {i + 2}"), (n.Bridge is { } br ? $"bridged to {br}" : "NAT (QEMU user networking)") + $", MAC {n.Mac}");
        }

        yield return ("Sound card", extra.Sound switch { VmSound.Hda => "Intel HD Audio", VmSound.Ac97 => "AC'97", _ => "none" });
        yield return ("USB", extra.Usb == VmUsb.None ? "none" : KebabCase.Of(extra.Usb).ToUpperInvariant() + (extra.Tablet ? " with a tablet" : ""));
        yield return ("Display", KebabCase.Of(extra.Display));
        yield return ("Secure Boot", extra.SecureBoot ? "on, Microsoft's keys enrolled (OVMF with SMM)" : "off");
        yield return ("TPM", extra.Tpm ? "TPM 2.0 (swtpm), its state in the VM's folder" : "none");
        yield return ("Serial ports", extra.SerialPorts == 1 ? "1 (the console)" : string.Create(CultureInfo.InvariantCulture, $"{extra.SerialPorts} (the console, then serial1.sock ... in the folder)"));
    }
}
