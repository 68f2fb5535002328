using Streamboot.Data.Model;

namespace Streamboot.Sessions.Decisions;

/// <summary>What the server tells a client that asked how to boot; the HTTP layer renders it as an iPXE script.</summary>
public abstract record BootDecision;

/// <summary>Who a device is: the computer name and machine id its OS must take, never another device's.</summary>
public sealed record BootIdentity(string Name, string Mac, Guid MachineId, string Collection)
{
    /// <summary>The machine id as systemd writes it in /etc/machine-id: 32 lower-case hex digits.</summary>
    public string MachineIdHex => MachineId.ToString("N");
}

/// <summary>
/// One vDisk a device may boot: the version its type selects (by number, by
/// its never-reused database id, and its top file), the export it streams
/// it from and where its writes go. <see cref="StoreFolder"/> holds the
/// vDisk's files (boot files beside the images).
/// </summary>
public sealed record BootTarget(
    string VDisk,
    string? Description,
    int Version,
    string Export,
    WriteCacheMode WriteCacheMode,
    string StoreFolder)
{
    public long VersionId { get; init; }

    public string VersionFile { get; init; } = "";

    /// <summary>How the disk reaches the device: its collection's choice, else its vDisk's; null is nbd.</summary>
    public BootProtocol? Protocol { get; init; }
}

/// <summary>
/// Boot this vDisk under this identity. <see cref="Key"/> is the new boot's
/// secret: the script hands it to the client, whose disk views need it; the
/// boot starts when it first opens the disk with it.
/// </summary>
public sealed record BootVDisk(BootIdentity Device, BootTarget Target, bool Registered, bool PersistentWriteCache, string Key) : BootDecision
{
    /// <summary>Which server of the farm streams it (its own server: <see cref="Farm.BootPlacement.Here"/>) and which may take over.</summary>
    public Farm.BootPlacement Placement { get; init; } = Farm.BootPlacement.Here;
}

/// <summary>
/// Every server that could boot the device has its limit of clients
/// booting at once: it waits its turn (<see cref="Ahead"/> before it) and
/// asks again, as Citrix Provisioning throttles a boot storm.
/// </summary>
public sealed record BootQueued(BootIdentity Device, int Ahead, string Message) : BootDecision;

/// <summary>A device with several vDisks: a menu in assignment order, the default chosen after the timeout.</summary>
public sealed record BootMenu(BootIdentity Device, IReadOnlyList<BootMenuItem> Items, int DefaultIndex) : BootDecision;

/// <summary>An unknown client whose collection lets it pick a vDisk (and so register) from a menu.</summary>
public sealed record RegistrationMenu(string Mac, string Collection, IReadOnlyList<BootMenuItem> Items) : BootDecision;

public sealed record BootMenuItem(string VDisk, string? Description);

/// <summary>
/// The client is not booted; <see cref="Message"/> is shown on its screen, in
/// words its user can act on. <see cref="Device"/> is the known device
/// refused (its refusal is kept for <c>session list</c>), <see cref="VDisk"/>
/// and <see cref="Version"/> what it would have booted.
/// </summary>
public sealed record BootRefused(BootRefusal Reason, string Message) : BootDecision
{
    public BootIdentity? Device { get; init; }

    public string? VDisk { get; init; }

    public int? Version { get; init; }
}

public enum BootRefusal
{
    /// <summary>The request itself is wrong (no MAC, a malformed MAC).</summary>
    BadRequest,

    /// <summary>The database does not know the machine and its collection's policy refuses it.</summary>
    UnknownDevice,

    Disabled,

    /// <summary>The device has no vDisk, or asked for one it is not assigned.</summary>
    NotAssigned,

    /// <summary>The vDisk has no version this device's type may boot.</summary>
    NoVersion,

    /// <summary>Another machine is running under this identity right now.</summary>
    IdentityInUse,

    /// <summary>Registering the unknown machine failed.</summary>
    RegistrationFailed,

    /// <summary>No server of the farm takes new boots of this vDisk (drained, down, or without its version).</summary>
    NoServer,

    /// <summary>Full-mode DHCP: the request came from another address than the one leased to the MAC it names.</summary>
    NotLeased,

    /// <summary>A replicated store: this server holds no verified copy of the version the device would boot (yet).</summary>
    NotReplicated,

    /// <summary>The site database is unreachable and the machine is not in this server's snapshot: new machines wait for it.</summary>
    SiteOffline,

    /// <summary>The loader that asked cannot boot the vDisk that way (GRUB of the Secure Boot chain and a SAN boot, or a vDisk without a kernel).</summary>
    LoaderCannotBoot,

    /// <summary>Secure Boot is on and the vDisk's kernel carries no signature shim trusts: shim would refuse it.</summary>
    KernelNotTrusted,
}
