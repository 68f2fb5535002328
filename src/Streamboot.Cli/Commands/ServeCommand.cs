using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Streamboot.Cli.Output;
using Streamboot.Server;

namespace Streamboot.Cli.Commands;

/// <summary><c>streamboot serve</c>: run the server in the foreground (systemd runs it the same way).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var httpPort = new Option<int?>("--http-port") { Description = "HTTP port: boot scripts, health, API [env: STREAMBOOT_HTTP_PORT; default 8080]", HelpName = "PORT" };
        var nbdPort = new Option<int?>("--nbd-port") { Description = "NBD port: vDisks to Linux clients, qemu, libnbd [env: STREAMBOOT_NBD_PORT; default 10809]", HelpName = "PORT" };
        var iscsiPort = new Option<int?>("--iscsi-port") { Description = "iSCSI port: vDisks to Windows (iPXE sanboot), Linux, libiscsi; 0 turns iSCSI off [env: STREAMBOOT_ISCSI_PORT; default 3260]", HelpName = "PORT" };
        var bind = new Option<string?>("--bind") { Description = "Address to listen on [env: STREAMBOOT_BIND; default 0.0.0.0]", HelpName = "ADDRESS" };
        var serverName = new Option<string?>("--server-name") { Description = "This server's name in the farm [default: host name]", HelpName = "NAME" };
        var dhcp = new Option<string?>("--dhcp") { Description = "DHCP for PXE clients: off, proxy (beside the network's DHCP server) or full (hand out addresses) [env: STREAMBOOT_DHCP; default off]", HelpName = "MODE" };
        dhcp.CompletionSources.Add("off", "proxy", "full");
        var dhcpInterface = new Option<string?>("--dhcp-interface") { Description = "The boot network's interface DHCP answers on [env: STREAMBOOT_DHCP_INTERFACE]", HelpName = "NAME" };
        var dhcpRange = new Option<string?>("--dhcp-range") { Description = "Full mode: addresses to hand out, FIRST-LAST [env: STREAMBOOT_DHCP_RANGE]", HelpName = "RANGE" };
        var tftpPort = new Option<int?>("--tftp-port") { Description = "TFTP port for PXE clients' first download; 0 turns it off [env: STREAMBOOT_TFTP_PORT; default 69]", HelpName = "PORT" };
        var tls = new Option<string?>("--tls") { Description = "NBD over TLS: off, on (offered: the client chooses) or require (plaintext clients are refused) [env: STREAMBOOT_TLS; default on]", HelpName = "MODE" };
        tls.CompletionSources.Add("off", "on", "require");
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate (then its chain) for NBD's TLS, with --tls-key [env: STREAMBOOT_TLS_CERT; default: the site's own, made in DATA/tls at first start]", HelpName = "FILE" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert [env: STREAMBOOT_TLS_KEY]", HelpName = "FILE" };
        var nbdIdle = new Option<int?>("--nbd-idle-timeout") { Description = "Seconds an NBD connection may idle (nothing in flight) before it is closed; clients reconnect; 0 never [env: STREAMBOOT_NBD_IDLE_TIMEOUT_SECONDS; default 600]", HelpName = "SECONDS" };
        var nbdPerAddress = new Option<int?>("--nbd-max-connections-per-address") { Description = "NBD connections one client address may have open [env: STREAMBOOT_NBD_MAX_CONNECTIONS_PER_ADDRESS; default 64]", HelpName = "N" };
        var advertised = new Option<string?>("--address") { Description = "Farm: addresses clients reach this server on, ADDRESS[/PREFIX],... (other servers' boot scripts send clients here) [env: STREAMBOOT_ADDRESS; default: --bind, or this machine's IPv4 addresses]", HelpName = "ADDRESSES" };
        var maxBooting = new Option<int?>("--max-booting") { Description = "Farm: clients that may boot from this server at once; more wait their turn, iPXE retrying; 0 no limit [env: STREAMBOOT_MAX_BOOTING; default 500]", HelpName = "N" };
        var metricsAllow = new Option<string?>("--metrics-allow") { Description = "Client networks that may read /metrics, NETWORK/PREFIX or ADDRESS,...; none for no one [env: STREAMBOOT_METRICS_ALLOW; default 127.0.0.0/8,::1/128: this machine]", HelpName = "NETWORKS" };
        var httpsPort = new Option<int?>("--https-port") { Description = "HTTPS port, with the NBD TLS certificate (the site's own in DATA/tls, or --tls-cert/--tls-key); 0: off [env: STREAMBOOT_HTTPS_PORT; default 0]", HelpName = "PORT" };
        var adminPasswordFile = new Option<string?>("--admin-password-file") { Description = "The first admin account's password, read from FILE when the site has no account yet (otherwise a random one is written to DATA/initial-admin-password) [env: STREAMBOOT_ADMIN_PASSWORD_FILE]", HelpName = "FILE" };
        var command = new Command("serve", "Run the Streamboot server (foreground; stops cleanly on SIGTERM or Ctrl+C)")
        {
            httpPort,
            nbdPort,
            iscsiPort,
            bind,
            serverName,
            dhcp,
            dhcpInterface,
            dhcpRange,
            tftpPort,
            tls,
            tlsCert,
            tlsKey,
            nbdIdle,
            nbdPerAddress,
            advertised,
            maxBooting,
            metricsAllow,
            adminPasswordFile,
            httpsPort,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (RemoteTarget.RefuseFor(parse, "serve", "it starts a server on this machine, for this machine's site; run it without --server and STREAMBOOT_SERVER") is { } refused)
            {
                return refused;
            }

            var flags = new Dictionary<string, string?>();
            if (parse.GetValue(httpPort) is { } port)
            {
                flags["HttpPort"] = port.ToString(CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(nbdPort) is { } nbd)
            {
                flags["NbdPort"] = nbd.ToString(CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(httpsPort) is { } https)
            {
                flags["HttpsPort"] = https.ToString(CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(iscsiPort) is { } iscsi)
            {
                flags["IscsiPort"] = iscsi.ToString(CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(bind) is { } address)
            {
                flags["Bind"] = address;
            }

            if (parse.GetValue(serverName) is { } name)
            {
                flags["ServerName"] = name;
            }

            if (parse.GetValue(maxBooting) is { } booting)
            {
                flags["MaxBooting"] = booting.ToString(CultureInfo.InvariantCulture);
            }

            foreach (var (option, key) in new[] { (advertised, "Address"), (dhcp, "Dhcp"), (dhcpInterface, "DhcpInterface"), (dhcpRange, "DhcpRange"), (tls, "Tls"), (tlsCert, "TlsCert"), (tlsKey, "TlsKey"), (metricsAllow, "MetricsAllow"), (adminPasswordFile, "AdminPasswordFile") })
            {
                if (parse.GetValue(option) is { } value)
                {
                    flags[key] = value;
                }
            }

            if (parse.GetValue(tftpPort) is { } tftp)
            {
                flags["TftpPort"] = tftp.ToString(CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(nbdIdle) is { } idle)
            {
                flags["NbdIdleTimeoutSeconds"] = idle.ToString(CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(nbdPerAddress) is { } perAddress)
            {
                flags["NbdMaxConnectionsPerAddress"] = perAddress.ToString(CultureInfo.InvariantCulture);
            }

            var context = CliContext.Resolve(parse, flags, out var exitCode, SiteUse.CreateIfMissing);
            if (context is null)
            {
                return exitCode;
            }

            var options = context.Options;
            if (options.HttpPort is < 1 or > 65535)
            {
                return CliOutput.Usage($"HTTP port {options.HttpPort} is out of range; use 1-65535 (--http-port)");
            }

            if (options.NbdPort is < 1 or > 65535)
            {
                return CliOutput.Usage($"NBD port {options.NbdPort} is out of range; use 1-65535 (--nbd-port)");
            }

            if (!Streamboot.Server.Iscsi.IscsiSettings.TryCreate(options, out _, out var iscsiError))
            {
                return CliOutput.Usage(iscsiError!);
            }

            if (options.HttpsPort is < 0 or > 65535)
            {
                return CliOutput.Usage($"HTTPS port {options.HttpsPort} is out of range; use 1-65535, or 0 to turn HTTPS off (--https-port)");
            }

            if (options.TftpPort is < 0 or > 65535)
            {
                return CliOutput.Usage($"TFTP port {options.TftpPort} is out of range; use 1-65535, or 0 to turn TFTP off (--tftp-port)");
            }

            if (!Streamboot.Server.Network.DhcpSettings.TryCreate(options, out _, out var dhcpError))
            {
                return CliOutput.Usage(dhcpError!);
            }

            if (!Streamboot.Server.Network.TftpSettings.TryCreate(options, out _, out var tftpError))
            {
                return CliOutput.Usage(tftpError!);
            }

            if (!Streamboot.Server.Nbd.NbdSettings.TryValidate(options, out var nbdError))
            {
                return CliOutput.Usage(nbdError);
            }

            if (options.MaxBooting < 0)
            {
                return CliOutput.Usage($"clients booting at once {options.MaxBooting} is out of range; use 0 (no limit) or more (--max-booting)");
            }

            if (options.ServerDownSeconds < 1)
            {
                return CliOutput.Usage($"server down time {options.ServerDownSeconds} s is out of range; use 1 or more seconds (STREAMBOOT_SERVER_DOWN_SECONDS)");
            }

            if (options.SnapshotSeconds is < 0 or > 3600)
            {
                return CliOutput.Usage($"snapshot interval {options.SnapshotSeconds} s is out of range; use 1-3600 seconds, or 0 for no offline snapshot (STREAMBOOT_SNAPSHOT_SECONDS)");
            }

            if (options.RebalanceSeconds < 0 || options.RebalanceTriggerPercent is < 0 or > 1000 || options.MovedRefusalSeconds is < 1 or > 3600)
            {
                return CliOutput.Usage($"rebalancing settings out of range: every {options.RebalanceSeconds} s (use 0 for never, or more), trigger {options.RebalanceTriggerPercent} % (use 0-1000), moved clients refused for {options.MovedRefusalSeconds} s (use 1-3600) (STREAMBOOT_REBALANCE_SECONDS, STREAMBOOT_REBALANCE_TRIGGER_PERCENT, STREAMBOOT_MOVED_REFUSAL_SECONDS)");
            }

            if (!Streamboot.Server.Farm.PublishedAddresses.TryValidate(options.Address, out var badAddress))
            {
                return CliOutput.Usage($"'{badAddress}' is not an address clients can reach this server on; give ADDRESS or ADDRESS/PREFIX, comma-separated (--address 10.0.0.2/24)");
            }

            if (!Streamboot.Server.Metrics.MetricsAllowList.TryParse(options.MetricsAllow, out _, out var badNetwork))
            {
                return CliOutput.Usage($"'{badNetwork}' is not a network or an address that may read /metrics; give NETWORK/PREFIX or ADDRESS, comma-separated, or none (--metrics-allow 10.0.0.0/8,192.168.1.5)");
            }

            if (options.AdminPasswordFile is { } passwordFile && !File.Exists(passwordFile))
            {
                return CliOutput.Usage($"--admin-password-file: there is no file '{passwordFile}'; give a file that holds the first admin's password on its first line");
            }

            if (!StreambootServer.TryParseBind(options.Bind, out _))
            {
                return CliOutput.Usage($"'{options.Bind}' is not an IP address to listen on; use --bind 0.0.0.0, :: or one of this machine's addresses");
            }

            // Ports and name first: a serve that cannot run makes and changes nothing.
            var (nameLock, refusal) = await ServePreflight.CheckAsync(options, context.Location, cancellationToken);
            await using var held = nameLock;
            if (refusal is not null)
            {
                CliOutput.Fail(refusal);
                return ExitCodes.Failure;
            }

            var database = await context.OpenDatabaseAsync(cancellationToken);
            if (database is null)
            {
                return ExitCodes.Failure;
            }

            await using var app = StreambootServer.Build(context.Configuration, options, context.DataFolder, database);
            try
            {
                await app.StartAsync(CancellationToken.None);
            }
            catch (Streamboot.Server.Security.SiteCertificateException e)
            {
                CliOutput.Fail(options.HttpsPort > 0
                    ? $"cannot start HTTPS (--https-port {options.HttpsPort}) or NBD over TLS: {e.Message}"
                    : $"cannot start NBD over TLS (--tls {options.Tls}): {e.Message}; or serve without TLS: --tls off");
                return ExitCodes.Failure;
            }
            catch (IOException e) when (e.InnerException is SocketException || e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
            {
                CliOutput.Fail($"cannot listen on {options.Bind}:{options.HttpPort}: {e.Message}; is another server using the port? choose another with --http-port");
                return ExitCodes.Failure;
            }
            catch (InvalidOperationException e) when (options.DhcpOn)
            {
                // DHCP's interface vanished or a boot port is taken (TFTP, 67, 4011): say which.
                CliOutput.Fail($"cannot start the network boot services (DHCP {options.Dhcp} on {options.DhcpInterface}): {e.Message}");
                return ExitCodes.Failure;
            }
            catch (SocketException e)
            {
                CliOutput.Fail($"cannot listen on {options.Bind} (HTTP port {options.HttpPort}, NBD port {options.NbdPort}, iSCSI port {options.IscsiPort}): {e.Message}; is another server using the port? choose others with --http-port, --nbd-port, --iscsi-port or --bind");
                return ExitCodes.Failure;
            }

            // The host's own lifetime handles SIGTERM and Ctrl+C: it stops the
            // listeners, lets requests finish and returns here.
            await app.WaitForShutdownAsync(CancellationToken.None);
            return ExitCodes.Ok;
        });
        return command;
    }
}
