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

    /// <summary>iSCSI port (3260 is iSCSI's IANA port): vDisks to Windows (iPXE sanboot and its iBFT), Linux, libiscsi; 0 turns iSCSI off.</summary>
    public int IscsiPort { get; set; } = 3260;

    /// <summary>
    /// The naming authority of this site's iSCSI targets, iqn.YYYY-MM.reversed.domain
    /// (a domain the site owned that month): targets are BASE:VDISK and
    /// BASE:VDISK:DEVICE. The same on every server of a farm.
    /// </summary>
    public string IscsiBaseName { get; set; } = Iscsi.IscsiNames.DefaultBaseName;

    /// <summary>iSCSI: boot scripts ask iPXE for mutual CHAP (the target proves itself too), not only the client.</summary>
    public bool IscsiMutualChap { get; set; } = true;

    /// <summary>iSCSI: TCP connections open at once.</summary>
    public int IscsiMaxConnections { get; set; } = 1024;

    /// <summary>iSCSI: connections still logging in from one address (a login flood from one host is cut off).</summary>
    public int IscsiMaxLoginsPerAddress { get; set; } = 16;

    /// <summary>iSCSI: milliseconds a failed authentication waits before it is answered (guessing CHAP secrets is slow).</summary>
    public int IscsiFailedLoginDelayMilliseconds { get; set; } = 1000;

    /// <summary>iSCSI: seconds a connection has to finish its login.</summary>
    public int IscsiLoginTimeoutSeconds { get; set; } = 15;

    /// <summary>iSCSI: connections one session may have (MaxConnections agreed).</summary>
    public int IscsiMaxConnectionsPerSession { get; set; } = 4;

    /// <summary>iSCSI: the largest data segment an initiator may send (our MaxRecvDataSegmentLength), bytes.</summary>
    public int IscsiMaxRecvDataSegmentLength { get; set; } = 256 * 1024;

    /// <summary>iSCSI: the largest burst of solicited write data held per R2T (MaxBurstLength agreed), bytes.</summary>
    public int IscsiMaxBurstLength { get; set; } = 1024 * 1024;

    /// <summary>iSCSI: the largest unsolicited write data per command (FirstBurstLength agreed), bytes.</summary>
    public int IscsiFirstBurstLength { get; set; } = 64 * 1024;

    /// <summary>iSCSI: commands one session may have in flight (its CmdSN window).</summary>
    public int IscsiCommandWindow { get; set; } = 128;

    /// <summary>iSCSI: write bursts (R2Ts) one connection has outstanding; the bound on its write buffers.</summary>
    public int IscsiMaxBurstsPerConnection { get; set; } = 8;

    /// <summary>iSCSI: bytes of replies queued per connection before its reads wait for the socket.</summary>
    public int IscsiMaxQueuedReplyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>iSCSI: seconds of silence after which the target pings an initiator (NOP-In); 0 turns pings off.</summary>
    public int IscsiNopIntervalSeconds { get; set; } = 20;

    /// <summary>iSCSI: seconds a ping may go unanswered before the connection is ended (the initiator is gone).</summary>
    public int IscsiNopTimeoutSeconds { get; set; } = 15;

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

    /// <summary>
    /// A device's own disk view needs its boot's key (issued by its boot
    /// script). Off only for a closed lab: anyone who knows a device's name
    /// can then read and write its disk.
    /// </summary>
    public bool BootKeys { get; set; } = true;

    /// <summary>
    /// Boot scripts for a MAC go only to the address this server's DHCP leased
    /// to it. Unset: on with <c>--dhcp full</c>, off otherwise (another DHCP
    /// server hands out the addresses).
    /// </summary>
    public bool? BootScriptsToLeasedAddressOnly { get; set; }

    /// <summary>Seconds a new boot from another address waits after the device's running boot last streamed (a second machine cannot take over a live disk).</summary>
    public int BootTakeoverGuardSeconds { get; set; } = 120;

    /// <summary>Seconds an HTTP disk view (iPXE SAN boot) is held after its last request.</summary>
    public int HttpDiskIdleSeconds { get; set; } = 30;

    /// <summary>Seconds an idle HTTP keep-alive connection stays open.</summary>
    public int HttpIdleSeconds { get; set; } = 60;

    /// <summary>Whole boot files (kernel, initrd) on the plain HTTP port sent with sendfile, before Kestrel (Http/BootFileSender); false sends them through Kestrel like every other answer.</summary>
    public bool HttpSendfile { get; set; } = true;

    /// <summary>Open HTTP connections one client address may hold.</summary>
    public int HttpMaxConnectionsPerAddress { get; set; } = 64;

    /// <summary>Open HTTP connections in all.</summary>
    public int HttpMaxConnections { get; set; } = 4096;

    /// <summary>
    /// Client networks that may read <c>/metrics</c>, comma separated
    /// (10.0.0.0/8,192.168.1.5); <c>none</c> for no one. Metrics tell how the
    /// site is built and used: this machine only by default.
    /// </summary>
    public string MetricsAllow { get; set; } = Metrics.MetricsAllowList.Default;

    /// <summary>
    /// A file with the first admin account's password (first line), read
    /// when the site has no account yet; without it a random password is
    /// written to <c>DATA/initial-admin-password</c> (mode 0600) once.
    /// </summary>
    public string? AdminPasswordFile { get; set; }

    /// <summary>
    /// HTTPS port (0: off), with the NBD TLS certificate (the site's own from
    /// <c>DATA/tls</c>, or <c>--tls-cert</c>/<c>--tls-key</c>): the admin API's
    /// tokens and passwords, and everything else the HTTP port serves, over TLS.
    /// </summary>
    public int HttpsPort { get; set; }

    /// <summary>API requests one client address may make per second (a burst of as many); 0: no limit.</summary>
    public int ApiRequestsPerSecond { get; set; } = 50;

    /// <summary>Long operations (import, merge, capture; of the API and the web console) running at once; a further one is refused (429).</summary>
    public int ApiMaxRunningOperations { get; set; } = 2;

    /// <summary>Long operations remembered, running and finished; the oldest finished go first.</summary>
    public int ApiMaxOperations { get; set; } = 100;

    /// <summary>Seconds a finished long operation can still be polled.</summary>
    public int ApiOperationKeepSeconds { get; set; } = 3600;

    /// <summary>
    /// Folders an import of the API or the web console may read from (and
    /// the console's VM installer ISOs), comma separated (their real
    /// paths); empty: <c>DATA/import</c>. The server's user can read its own
    /// database and TLS key: an admin token must not be able to import them
    /// into a vDisk and read them back over NBD.
    /// </summary>
    public string ApiImportFolders { get; set; } = "";

    /// <summary>This server's name in the farm; the host name by default.</summary>
    public string? ServerName { get; set; }

    /// <summary>Seconds a boot menu waits before it boots the default vDisk.</summary>
    public int BootMenuSeconds { get; set; } = 10;

    /// <summary>Seconds a refused or failed client waits before it asks for its boot script again.</summary>
    public int BootRetrySeconds { get; set; } = 30;

    /// <summary>
    /// Seconds a client waiting its turn in a boot storm (every server at
    /// its <see cref="MaxBooting"/>) waits before it asks again: slots free
    /// as boots finish, and a refusal's half-minute would leave them idle.
    /// </summary>
    public int BootQueueRetrySeconds { get; set; } = 5;

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

    /// <summary>
    /// The Secure Boot chain's first file (Microsoft-signed shim), sent by
    /// DHCP to x64 UEFI machines whose boot loader is secure-boot; shim then
    /// asks the same TFTP server for grubx64.efi (the signed GRUB).
    /// </summary>
    public string SecureBootFile { get; set; } = "shimx64.efi";

    /// <summary>The shim TFTP serves as shimx64.efi (Debian's shim-signed); its built-in certificate is what a vDisk's kernel must be signed with.</summary>
    public string SecureBootShim { get; set; } = "/usr/lib/shim/shimx64.efi.signed";

    /// <summary>The GRUB TFTP serves as grubx64.efi (Debian's grub-efi-amd64-signed: the network build, with TFTP).</summary>
    public string SecureBootGrub { get; set; } = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";

    /// <summary>
    /// A folder of more certificates (PEM or DER) a kernel may be signed with
    /// for Secure Boot clients (keys enrolled in the machines' MOK list);
    /// default DATA/secureboot/certificates.
    /// </summary>
    public string? SecureBootCertificates { get; set; }

    /// <summary>TFTP port for PXE clients' first download; 0 turns TFTP off.</summary>
    public int TftpPort { get; set; } = 69;

    /// <summary>Files TFTP serves before the iPXE folder: DATA/tftp by default.</summary>
    public string? TftpFolder { get; set; }

    /// <summary>TFTP: transfers running at once; a request beyond is dropped, and the client's own retry gets in later.</summary>
    public int TftpMaxTransfers { get; set; } = 1024;

    /// <summary>
    /// TFTP: transfers running at once for one client address, so that one
    /// address (a flood) cannot take every slot. A PXE client runs one or two;
    /// a boot storm of 500 machines is 500 addresses.
    /// </summary>
    public int TftpMaxTransfersPerClient { get; set; } = 16;

    /// <summary>TFTP: the longest timeout, in seconds, a client may negotiate (RFC 2349 allows up to 255); a longer one is left out of the OACK.</summary>
    public int TftpMaxTimeoutSeconds { get; set; } = 10;

    /// <summary>TFTP: seconds a transfer keeps retransmitting without an ACK that moves it forward before it is abandoned.</summary>
    public int TftpMaxRetrySeconds { get; set; } = 30;

    /// <summary>DHCP: the largest datagram read, in bytes (576 to 65535); larger ones are dropped unread and counted. Client messages are a few hundred bytes.</summary>
    public int DhcpMaxDatagramBytes { get; set; } = 4096;

    /// <summary>TFTP and DHCP: log lines per minute for each kind of refused or dropped request; the rest are counted, and the next line says how many were left out.</summary>
    public int RefusalLogLinesPerMinute { get; set; } = 60;

    /// <summary>Where the iPXE binaries are (Debian's ipxe package).</summary>
    public string IpxeFolder { get; set; } = "/usr/lib/ipxe";

    /// <summary>Seconds between heartbeats written to the servers table.</summary>
    public int HeartbeatSeconds { get; set; } = 10;

    /// <summary>
    /// Farm: the addresses clients reach this server on, comma-separated,
    /// each optionally with its prefix length (10.0.0.2/24). Default: the
    /// bind address when it is one, else every up IPv4 address of this
    /// machine's interfaces but loopback.
    /// </summary>
    public string? Address { get; set; }

    /// <summary>
    /// PostgreSQL sites: seconds between refreshes of this server's local
    /// snapshot of the site (DATA/offline/NAME.db), from which it keeps
    /// booting known devices and serving their disks while the database is
    /// unreachable (0: no snapshot, an outage stops boots).
    /// </summary>
    public int SnapshotSeconds { get; set; } = 3;

    /// <summary>Farm: seconds without a heartbeat after which a server is down (no new boots; its sessions may fail over).</summary>
    public int ServerDownSeconds { get; set; } = 30;

    /// <summary>Farm: clients that may boot from this server at once; more wait their turn (0: no limit).</summary>
    public int MaxBooting { get; set; } = 500;

    /// <summary>Farm: seconds after its boot script that a client counts as booting.</summary>
    public int BootingSeconds { get; set; } = 90;

    /// <summary>Farm: send a new boot only to servers with an address on the client's subnet, when there is one.</summary>
    public bool SubnetAffinity { get; set; }

    /// <summary>Farm: seconds between this server's checks of its share of the farm's sessions (0: no automatic rebalancing).</summary>
    public int RebalanceSeconds { get; set; } = 600;

    /// <summary>Farm: percent above its fair share (by weight) at which this server moves its excess sessions to the others.</summary>
    public int RebalanceTriggerPercent { get; set; } = 20;

    /// <summary>Farm: seconds a session moved off this server is refused here, so its client continues on another server.</summary>
    public int MovedRefusalSeconds { get; set; } = 30;

    /// <summary>The settings the Admin layer judges servers and netboot VMs by (<see cref="Admin.AdminSite.Farm"/>).</summary>
    public Admin.FarmSettings Farm() => new(
        TimeSpan.FromSeconds(Math.Max(1, ServerDownSeconds)),
        TimeSpan.FromSeconds(Math.Max(1, BootingSeconds)),
        TimeSpan.FromSeconds(Math.Max(1, HeartbeatSeconds)),
        HttpPort);
}
