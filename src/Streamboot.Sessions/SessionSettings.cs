namespace Streamboot.Sessions;

/// <summary>
/// The session layer's rules and limits. The defaults are what a boot network
/// of a few hundred machines wants; each is a <c>Streamboot:</c> setting of
/// <c>streamboot serve</c>.
/// </summary>
public sealed record SessionSettings
{
    /// <summary>
    /// A device's own view (<c>VDISK/DEVICE</c>) needs the key of one of its
    /// boots. Off, a view without a key joins the device's running boot or
    /// starts its newest issued one: anyone who knows a device's name can
    /// then read and write its disk (a closed lab's choice, never the default).
    /// </summary>
    public bool RequireBootKey { get; init; } = true;

    /// <summary>
    /// A boot script for a MAC goes only to the address this site's DHCP
    /// server leased to that MAC (or reserved for its device). On with
    /// full-mode DHCP; off where another DHCP server hands out addresses.
    /// </summary>
    public bool ScriptsOnlyToLeasedAddress { get; init; }

    /// <summary>Boots issued but not started that one device keeps; the oldest goes first.</summary>
    public int MaxPendingBootsPerDevice { get; init; } = 16;

    /// <summary>
    /// Of those, how many one address may hold: scripts fetched from elsewhere
    /// for the same MAC cannot push out the key the real machine is about to use.
    /// </summary>
    public int MaxPendingBootsPerAddress { get; init; } = 2;

    /// <summary>A boot not started this long after its script is forgotten.</summary>
    public TimeSpan PendingBootLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A new boot from another address than the device's running boot is
    /// refused while that boot streamed within this time (its link blinked,
    /// its server restarted): a second machine cannot take over a live disk.
    /// </summary>
    public TimeSpan TakeoverGuard { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The shim the Secure Boot chain starts with (Debian's shim-signed): the
    /// certificate built into it is what a vDisk's kernel must be signed with.
    /// </summary>
    public string SecureBootShim { get; init; } = "/usr/lib/shim/shimx64.efi.signed";

    /// <summary>A folder of more certificates (PEM or DER) a kernel may be signed with: keys enrolled in the machines' MOK list. Null: none.</summary>
    public string? SecureBootCertificates { get; init; }

    /// <summary>MiB of each vDisk version's shared read cache.</summary>
    public long ReadCacheBytes { get; init; } = 256L << 20;

    /// <summary>Bytes a server-ram write cache holds in RAM before it overflows to disk.</summary>
    public long RamWriteCacheBytes { get; init; } = 256L << 20;

    /// <summary>Test and benchmark only: a delay added to every read of vDisk storage under the read caches (slow shared storage).</summary>
    public TimeSpan StorageReadLatency { get; init; }

    /// <summary>A version's shared layers nobody has used this long are closed (its cache memory freed).</summary>
    public TimeSpan UnusedImageLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A server of the farm whose heartbeat is older than this is down: it
    /// gets no new boots, and its live sessions may continue on another
    /// server (failover) once this long has passed, never sooner, since a
    /// server that is only slow may still be writing their write caches.
    /// </summary>
    public TimeSpan ServerDownAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long after its boot script a client counts as booting (against its server's boot limit and load).</summary>
    public TimeSpan BootingWindow { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>New boots go only to servers with an address on the client's subnet, when there is one.</summary>
    public bool SubnetAffinity { get; init; }

    /// <summary>
    /// How often a server checks whether it holds more than its fair share
    /// of the farm's sessions (and moves the excess); zero: never on its own
    /// (<c>streamboot server rebalance</c> still works).
    /// </summary>
    public TimeSpan RebalanceInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How far above its fair share, in percent, a server's sessions may be before it moves the excess.</summary>
    public int RebalanceTriggerPercent { get; init; } = 20;

    /// <summary>
    /// After a session moved off this server, its boot's reconnects here are
    /// refused (as temporary) this long, so the client's connection keeper
    /// goes on to the next server of its list.
    /// </summary>
    public TimeSpan MovedRefusal { get; init; } = TimeSpan.FromSeconds(30);
}
