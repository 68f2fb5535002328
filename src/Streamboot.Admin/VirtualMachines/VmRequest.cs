using System.Globalization;
using System.Text;

namespace Streamboot.Admin.VirtualMachines;

/// <summary>
/// A new VM as the admin asked for it, in the order VMware Workstation's
/// New Virtual Machine wizard asks (custom path). Null means "the default
/// for this guest" (<see cref="VmDefaults"/>).
/// </summary>
public sealed record VmRequest
{
    public required string Name { get; init; }

    /// <summary>Where the VM's files go [default: DATA/vms/NAME].</summary>
    public string? Folder { get; init; }

    /// <summary>Hardware compatibility: a QEMU PC machine type [default: q35].</summary>
    public string? MachineType { get; init; }

    public string? GuestOs { get; init; }

    public string? GuestOsVersion { get; init; }

    public string? InstallerIso { get; init; }

    // Easy install: giving a user name or password asks for it.
    public string? FullName { get; init; }

    public string? UserName { get; init; }

    public string? Password { get; init; }

    public string? HostName { get; init; }

    public int? Sockets { get; init; }

    public int? CoresPerSocket { get; init; }

    public int? MemoryMiB { get; init; }

    public long? DiskSizeBytes { get; init; }

    public string? DiskFile { get; init; }

    public string? DiskFormat { get; init; }

    public bool Preallocate { get; init; }

    /// <summary>The disk's I/O controller and disk type: virtio-blk, virtio-scsi, sata, nvme or ide [default: by guest family and machine].</summary>
    public string? DiskBus { get; init; }

    /// <summary>An existing disk image (any format qemu-img reads) copied as the VM's disk, or a block device (a physical disk) attached whole.</summary>
    public string? ExistingDisk { get; init; }

    /// <summary>Use <see cref="ExistingDisk"/> where it is (raw or qcow2) instead of copying it.</summary>
    public bool AttachDisk { get; init; }

    /// <summary>Customize hardware: more new disks, each SIZE or SIZE:BUS.</summary>
    public IReadOnlyList<string>? AddDisks { get; init; }

    /// <summary>Customize hardware: more network cards, each nat or bridge:BR.</summary>
    public IReadOnlyList<string>? AddNics { get; init; }

    /// <summary>none, hda or ac97 [default: none].</summary>
    public string? Sound { get; init; }

    /// <summary>none, uhci, ehci or xhci [default: xhci].</summary>
    public string? Usb { get; init; }

    /// <summary>A USB tablet [default: yes when there is USB].</summary>
    public bool? Tablet { get; init; }

    /// <summary>std, virtio, qxl, cirrus or none [default: std].</summary>
    public string? Display { get; init; }

    /// <summary>A TPM 2.0 through swtpm [default: yes for Windows guests].</summary>
    public bool? Tpm { get; init; }

    /// <summary>UEFI Secure Boot with Microsoft's keys [default: for Windows guests on UEFI and q35].</summary>
    public bool? SecureBoot { get; init; }

    /// <summary>Windows easy install: the product key written into autounattend.xml.</summary>
    public string? ProductKey { get; init; }

    /// <summary>Windows easy install: the edition to install ("Windows 11 Pro", an image name of install.wim).</summary>
    public string? Edition { get; init; }

    /// <summary>1 to 4 [default: 1, the console].</summary>
    public int? SerialPorts { get; init; }

    public string? Firmware { get; init; }

    public string? Network { get; init; }

    public string? Bridge { get; init; }

    /// <summary>For a netboot VM: register it as a device of this collection.</summary>
    public string? Collection { get; init; }

    public string? Mac { get; init; }

    /// <summary>Memory as the wizard asks it: a bare number is MiB (as VMware asks MB); a size with a unit is whole MiB.</summary>
    public static int? ParseMemory(string text, out string? error)
    {
        error = null;
        var trimmed = text.Trim();
        long bytes;
        if (long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var mib))
        {
            bytes = mib * 1024 * 1024;
        }
        else if (!ByteSize.TryParse(trimmed, out bytes, out var sizeError))
        {
            error = $"--memory: {sizeError}";
            return null;
        }

        if (bytes % (1024 * 1024) != 0 || bytes / (1024 * 1024) > int.MaxValue)
        {
            error = $"--memory {text}: give whole MiB (2048, 4G, 1536M)";
            return null;
        }

        return (int)(bytes / (1024 * 1024));
    }

    /// <summary>Every field but the password, so the request can be logged or shown.</summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Name = {Name}, GuestOs = {GuestOs}, InstallerIso = {InstallerIso}, UserName = {UserName}, Password = {(Password is null ? "(none)" : "(hidden)")}");
        return true;
    }
}
