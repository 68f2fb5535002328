using System.Globalization;
using System.Text;
using Streamboot.Admin.VirtualMachines;

namespace Streamboot.Api.Contracts.Requests;

/// <summary>
/// A VM to make (<c>vm create</c> with flags): every question of the wizard
/// as a field, sizes as the command line writes them ("4G", "2048").
/// Paths (<see cref="InstallerIso"/>, <see cref="Folder"/>, <see cref="DiskFile"/>)
/// are on the server. The password goes into the seed only, as with the command line.
/// </summary>
public sealed record VmCreate(
    string Name,
    string? Folder = null,
    string? MachineType = null,
    string? GuestOs = null,
    string? GuestOsVersion = null,
    string? InstallerIso = null,
    string? FullName = null,
    string? UserName = null,
    string? Password = null,
    string? HostName = null,
    int? Sockets = null,
    int? CoresPerSocket = null,
    string? Memory = null,
    string? DiskSize = null,
    string? DiskFile = null,
    string? DiskFormat = null,
    bool Preallocate = false,
    string? Firmware = null,
    string? Network = null,
    string? Bridge = null,
    string? Collection = null,
    string? Mac = null,
    string? DiskBus = null,
    string? ExistingDisk = null,
    bool AttachDisk = false,
    IReadOnlyList<string>? AddDisks = null,
    IReadOnlyList<string>? AddNics = null,
    string? Sound = null,
    string? Usb = null,
    bool? Tablet = null,
    string? Display = null,
    int? SerialPorts = null,
    bool? Tpm = null,
    string? ProductKey = null,
    string? Edition = null,
    bool? SecureBoot = null)
{
    /// <summary>Every field but the password stays out of the text (a record prints all its members).</summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Name = {Name}, GuestOs = {GuestOs}, InstallerIso = {InstallerIso}, UserName = {UserName}, Password = {(Password is null ? "(none)" : "(hidden)")}");
        return true;
    }

    /// <summary>The request the body makes, its sizes parsed as the command line parses them; null with the message when one is malformed.</summary>
    public VmRequest? ToRequest(out string? error)
    {
        error = null;
        int? memory = null;
        if (Memory is { } memoryText && (memory = VmRequest.ParseMemory(memoryText, out error)) is null)
        {
            return null;
        }

        long? disk = null;
        if (DiskSize is { } diskText)
        {
            if (!ByteSize.TryParse(diskText, out var bytes, out var sizeError))
            {
                error = $"diskSize: {sizeError}";
                return null;
            }

            disk = bytes;
        }

        return new VmRequest
        {
            Name = Name ?? "",
            Folder = Folder,
            MachineType = MachineType,
            GuestOs = GuestOs,
            GuestOsVersion = GuestOsVersion,
            InstallerIso = InstallerIso,
            FullName = FullName,
            UserName = UserName,
            Password = Password,
            HostName = HostName,
            Sockets = Sockets,
            CoresPerSocket = CoresPerSocket,
            MemoryMiB = memory,
            DiskSizeBytes = disk,
            DiskFile = DiskFile,
            DiskFormat = DiskFormat,
            Preallocate = Preallocate,
            Firmware = Firmware,
            Network = Network,
            Bridge = Bridge,
            Collection = Collection,
            Mac = Mac,
            DiskBus = DiskBus,
            ExistingDisk = ExistingDisk,
            AttachDisk = AttachDisk,
            AddDisks = AddDisks,
            AddNics = AddNics,
            Sound = Sound,
            Usb = Usb,
            Tablet = Tablet,
            Display = Display,
            SerialPorts = SerialPorts,
            Tpm = Tpm,
            ProductKey = ProductKey,
            Edition = Edition,
            SecureBoot = SecureBoot,
        };
    }

    /// <summary>The body a request makes (what a client sends for <c>vm create</c> with flags): sizes as plain MiB and bytes.</summary>
    public static VmCreate From(VmRequest request) => new(
        request.Name,
        request.Folder,
        request.MachineType,
        request.GuestOs,
        request.GuestOsVersion,
        request.InstallerIso,
        request.FullName,
        request.UserName,
        request.Password,
        request.HostName,
        request.Sockets,
        request.CoresPerSocket,
        request.MemoryMiB?.ToString(CultureInfo.InvariantCulture),
        request.DiskSizeBytes?.ToString(CultureInfo.InvariantCulture),
        request.DiskFile,
        request.DiskFormat,
        request.Preallocate,
        request.Firmware,
        request.Network,
        request.Bridge,
        request.Collection,
        request.Mac,
        request.DiskBus,
        request.ExistingDisk,
        request.AttachDisk,
        request.AddDisks,
        request.AddNics,
        request.Sound,
        request.Usb,
        request.Tablet,
        request.Display,
        request.SerialPorts,
        request.Tpm,
        request.ProductKey,
        request.Edition,
        request.SecureBoot);
}
