namespace Streamboot.Server.Configuration;

/// <summary>
/// The <c>Streamboot</c> configuration section. Sources, later winning:
/// appsettings.json beside the program, /etc/streamboot/appsettings.json,
/// <c>STREAMBOOT_*</c> environment variables, command-line flags.
/// </summary>
public sealed class StreambootOptions
{
    public const string Section = "Streamboot";

    /// <summary>The data folder: database, vDisk store, write caches.</summary>
    public string? Data { get; set; }

    /// <summary>A database other than the embedded SQLite file (PostgreSQL URL or connection string).</summary>
    public string? Db { get; set; }

    /// <summary>Address the server's ports listen on.</summary>
    public string Bind { get; set; } = "0.0.0.0";

    public int HttpPort { get; set; } = 8080;

    /// <summary>NBD port (10809 is NBD's IANA port).</summary>
    public int NbdPort { get; set; } = 10809;

    /// <summary>NBD connections open at once, from all clients; more are closed at accept and logged.</summary>
    public int NbdMaxConnections { get; set; } = 4096;

    /// <summary>NBD connections one client address may have open at once (a diskless client uses one to a few); more are refused and logged.</summary>
    public int NbdMaxConnectionsPerAddress { get; set; } = 64;

    /// <summary>Seconds an NBD client has from connecting to transmission, TLS handshake included.</summary>
    public int NbdHandshakeTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Seconds an NBD connection may sit with nothing in flight and no request
    /// before the server closes it (the client connects again when it needs the
    /// disk; client/linux's streamboot-nbd does); 0 never closes it.
    /// </summary>
    public int NbdIdleTimeoutSeconds { get; set; } = 600;

    /// <summary>
    /// Seconds an NBD connection may have requests in flight of which none
    /// finishes (its client does not take its replies) before it is closed; 0 never.
    /// </summary>
    public int NbdStallTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// MiB one NBD connection may hold in flight (READ replies not yet sent,
    /// WRITE payloads not yet written) before the server stops reading its requests.
    /// </summary>
    public int NbdMaxInFlightMiBPerConnection { get; set; } = 32;

    /// <summary>
    /// MiB all NBD connections together may hold in flight beyond each one's
    /// reserve: what connections that never read their replies can make the server hold.
    /// </summary>
    public int NbdMaxInFlightMiB { get; set; } = 1024;

    /// <summary>KiB each NBD connection may hold in flight whatever the others hold, so a full server-wide pool stalls no one.</summary>
    public int NbdReservedInFlightKiBPerConnection { get; set; } = 1024;

    /// <summary>
    /// NBD over TLS (NBD_OPT_STARTTLS): off, on (offered; the client chooses,
    /// the default) or require (nothing but STARTTLS before TLS).
    /// </summary>
    public string Tls { get; set; } = "on";

    /// <summary>PEM certificate (then its chain) NBD's TLS presents; the site's own in DATA/tls, made at first start, when unset.</summary>
    public string? TlsCert { get; set; }

    /// <summary>PEM private key of <see cref="TlsCert"/>.</summary>
    public string? TlsKey { get; set; }

    /// <summary>MiB of the shared read cache for each vDisk version being streamed.</summary>
    public int ReadCacheMiB { get; set; } = 256;

    /// <summary>MiB of RAM each server-ram write cache may hold before it overflows to disk.</summary>
    public int RamWriteCacheMiB { get; set; } = 256;

    /// <summary>This server's name in the farm; the host name by default.</summary>
    public string? ServerName { get; set; }

    /// <summary>Seconds a boot menu waits before it boots the default vDisk.</summary>
    public int BootMenuSeconds { get; set; } = 10;

    /// <summary>Seconds a refused or failed client waits before it asks for its boot script again.</summary>
    public int BootRetrySeconds { get; set; } = 30;

    /// <summary>DHCP: off (the default: a DHCP server never starts by surprise), proxy (beside the network's own DHCP server, answering PXE clients only) or full (this server hands out addresses).</summary>
    public string Dhcp { get; set; } = "off";

    /// <summary>Whether <see cref="Dhcp"/> asks for a DHCP server at all (proxy or full).</summary>
    public bool DhcpOn => !string.IsNullOrWhiteSpace(Dhcp) && !Dhcp.Trim().Equals("off", StringComparison.OrdinalIgnoreCase);

    /// <summary>The interface DHCP answers on (the boot network), for example eth1.</summary>
    public string? DhcpInterface { get; set; }

    /// <summary>Full mode: the addresses handed out, FIRST-LAST, for example 10.0.0.100-10.0.0.199.</summary>
    public string? DhcpRange { get; set; }

    /// <summary>Full mode: the subnet mask; the interface's own by default.</summary>
    public string? DhcpSubnetMask { get; set; }

    /// <summary>Full mode: the default gateway given to clients (none by default: a boot network needs none).</summary>
    public string? DhcpRouter { get; set; }

    /// <summary>Full mode: DNS servers given to clients, comma separated.</summary>
    public string? DhcpDns { get; set; }

    /// <summary>Full mode: the domain name given to clients.</summary>
    public string? DhcpDomain { get; set; }

    /// <summary>Full mode: minutes a lease lasts.</summary>
    public int DhcpLeaseMinutes { get; set; } = 60;

    /// <summary>
    /// Send IPv6 router advertisements (lifetime 0: never a default router) on
    /// the DHCP interface, so iPXE does not wait about 13 s for them. On by
    /// default in full mode, where the boot network is this server's own.
    /// </summary>
    public bool? DhcpRouterAdvertisements { get; set; }

    /// <summary>What x64 UEFI PXE clients load: ipxe.efi (iPXE's own NIC drivers) or snponly.efi (the firmware's).</summary>
    public string UefiBootFile { get; set; } = "ipxe.efi";

    /// <summary>TFTP port for PXE clients' first download; 0 turns TFTP off.</summary>
    public int TftpPort { get; set; } = 69;

    /// <summary>Files TFTP serves before the iPXE folder: DATA/tftp by default.</summary>
    public string? TftpFolder { get; set; }

    /// <summary>Where the iPXE binaries are (Debian's ipxe package).</summary>
    public string IpxeFolder { get; set; } = "/usr/lib/ipxe";

    /// <summary>Seconds between heartbeats written to the servers table.</summary>
    public int HeartbeatSeconds { get; set; } = 10;
}
