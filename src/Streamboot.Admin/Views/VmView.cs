namespace Streamboot.Admin.Views;

/// <summary>
/// A VM and, when it runs, its QEMU process. <see cref="Notes"/> is set on
/// the answer of <c>vm create</c> only: what the plan found worth saying
/// (more memory than is free, a bridge that does not exist yet).
/// </summary>
public sealed record VmView(
    string Name,
    string State,
    string Folder,
    GuestOsFamily GuestOs,
    string? GuestOsVersion,
    string MachineType,
    VmFirmware Firmware,
    int Sockets,
    int CoresPerSocket,
    int MemoryMiB,
    string? DiskFile,
    ImageFormat? DiskFormat,
    long? DiskSizeBytes,
    bool DiskPreallocated,
    string? InstallerIso,
    string? SeedFile,
    string? UserName,
    string? FullName,
    string? HostName,
    VmNetworkMode Network,
    string? Bridge,
    string Mac,
    string? Device,
    string ConsoleLog,
    int? Pid,
    string? Accelerator,
    DateTime? StartedAt,
    string? Screen,
    DateTime CreatedAt)
{
    public int Cpus => Sockets * CoresPerSocket;

    /// <summary>The disk's I/O controller; null for a diskless VM.</summary>
    public VmDiskBus? DiskBus { get; init; }

    /// <summary>The disk is an existing image or physical disk used where it is (<c>vm delete</c> leaves it).</summary>
    public bool DiskAttached { get; init; }

    /// <summary>More disks and NICs, sound, USB, display, serial ports.</summary>
    public VmExtraHardware Hardware { get; init; } = new();

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Notes { get; init; }
}
