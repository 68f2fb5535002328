namespace Streamboot.Data.Model;

// The database stores these as kebab-case text (see KebabEnumConverter), so
// rows read the same in sqlite3 and psql as on the command line.

/// <summary>Which vDisk version a device boots (PVS: device type).</summary>
public enum DeviceType
{
    Production,
    Test,
    Maintenance,
}

/// <summary>Where a client's writes go while it runs from a standard image.</summary>
public enum WriteCacheMode
{
    /// <summary>A sparse per-session overlay on the server's disk.</summary>
    ServerDisk,

    /// <summary>Server RAM, overflowing to the server's disk past a configured size.</summary>
    ServerRam,

    /// <summary>The client's own disk; the server serves reads only.</summary>
    ClientDisk,

    /// <summary>The client's own RAM (an overlay on tmpfs); the server serves reads only and never sees a write.</summary>
    ClientRam,

    /// <summary>No cache: writes go into the image (private images).</summary>
    None,
}

public static class WriteCacheModes
{
    /// <summary>Modes where the client keeps its own writes and the server streams a read-only view.</summary>
    public static bool OnClient(this WriteCacheMode mode) => mode is WriteCacheMode.ClientDisk or WriteCacheMode.ClientRam;
}

/// <summary>
/// How a device's disk reaches it at boot: <c>nbd</c> (kernel and initrd over
/// HTTP, root over NBD; a vDisk without a kernel is SAN-booted over HTTP),
/// <c>http</c> (iPXE SAN-boots the whole disk over HTTP range requests) or
/// <c>iscsi</c> (iPXE SAN-boots it over iSCSI and leaves it in the iBFT for
/// the OS: the way Windows boots diskless). Unset on a vDisk means nbd.
/// </summary>
public enum BootProtocol
{
    Nbd,
    Http,
    Iscsi,
}

/// <summary>
/// What a x64 UEFI client is sent first by DHCP: <c>ipxe</c> (ipxe.efi, every
/// boot protocol; the firmware refuses it when Secure Boot is on) or
/// <c>secure-boot</c> (the Microsoft-signed shim, which loads Debian's signed
/// GRUB, which loads a signed kernel: boots with Secure Boot on, kernel and
/// initrd only). Unset on a device means its collection's; unset on both
/// means auto (docs/secure-boot.md). BIOS clients always get iPXE.
/// </summary>
public enum BootLoader
{
    Ipxe,
    SecureBoot,
}

/// <summary>Standard: shared and read-only, one write cache per client. Private: one client writes into the image.</summary>
public enum AccessMode
{
    Standard,
    Private,
}

/// <summary>What happens when a machine the database does not know asks to boot.</summary>
public enum UnknownDevicePolicy
{
    AutoRegister,
    Menu,
    Refuse,
}

/// <summary>The life of a vDisk version, as in PVS versioning.</summary>
public enum VersionStage
{
    Maintenance,
    Test,
    Production,
}

/// <summary>Where a site's vDisk files live (issue 12).</summary>
public enum StoreKind
{
    /// <summary>One folder every server mounts (NFS, CephFS...): every server reads the same files.</summary>
    Shared,

    /// <summary>Each server's own data folder holds its own copies, copied between servers and verified by content hash.</summary>
    Replicated,
}

/// <summary>The state of one server's copy of a version in a replicated store.</summary>
public enum ReplicaState
{
    /// <summary>Its bytes hash to the version's content hash: it may be served.</summary>
    Verified,

    /// <summary>Being copied from another server.</summary>
    Copying,

    /// <summary>Its bytes do not hash to the version's content hash: never served, copied again.</summary>
    Corrupt,

    /// <summary>The server has no copy (yet).</summary>
    Missing,
}

/// <summary>What an API token may do: read everything, or change it too.</summary>
public enum ApiScope
{
    Read,
    Admin,
}
