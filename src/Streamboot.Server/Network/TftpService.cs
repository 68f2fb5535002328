using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Protocols.Tftp;
using Streamboot.Protocols.Tftp.Files;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Network;

/// <summary>
/// TFTP inside <c>streamboot serve</c>: what PXE ROMs download first
/// (iPXE, or the Secure Boot chain: shim, GRUB, and all GRUB loads after),
/// read-only, from the site's own folder (<c>DATA/tftp</c>), then what
/// <see cref="Boot.BootTftpFiles"/> makes, then the iPXE folder (Debian's
/// <c>/usr/lib/ipxe</c>). Port 69 needs root or
/// CAP_NET_BIND_SERVICE: without DHCP, a port that cannot be bound is a
/// warning (the network's own boot server may be serving); with DHCP on,
/// whose answers point at this TFTP server, it stops the start.
/// </summary>
internal sealed partial class TftpService(IOptions<StreambootOptions> options, Sessions.IBootSessions sessions, ILoggerFactory loggerFactory, TimeProvider clock) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Streamboot.Tftp");
    private TftpServer? _server;

    public string Folder => options.Value.TftpFolder ?? Path.Combine(options.Value.Data!, "tftp");

    /// <summary>The TFTP server's counters, or null while it does not run.</summary>
    public TftpServerStatistics? Statistics => _server?.Statistics;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.TftpPort == 0)
        {
            LogOff(_logger);
            return Task.CompletedTask;
        }

        if (!TftpSettings.TryCreate(settings, out var limits, out var error))
        {
            // serve checks the settings before it starts; this is for hosts built another way.
            throw new InvalidOperationException(error);
        }

        Directory.CreateDirectory(Folder);
        if (!File.Exists(Path.Combine(settings.IpxeFolder, "undionly.kpxe")))
        {
            LogNoIpxe(_logger, settings.IpxeFolder);
        }

        var files = new Boot.BootTftpFiles(
            sessions,
            settings,
            new TftpFolderSource(new TftpFolderRoot(Folder)),
            // Debian's ipxe package links ipxe.efi to /boot: links out of that folder are the package's own.
            new TftpFolderSource(new TftpFolderRoot(settings.IpxeFolder) { AllowLinksOutside = true }),
            clock);
        StreambootServer.TryParseBind(settings.Bind, out var address);
        var server = new TftpServer(files, limits, loggerFactory);
        try
        {
            server.Start(new IPEndPoint(address, settings.TftpPort));
        }
        catch (SocketException e) when (!settings.DhcpOn)
        {
            LogNotStarted(_logger, settings.TftpPort, Remedy(e.SocketErrorCode, settings.TftpPort));
            return Task.CompletedTask;
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"TFTP cannot listen on port {settings.TftpPort}, where DHCP sends PXE clients: {Remedy(e.SocketErrorCode, settings.TftpPort)}", e);
        }

        _server = server;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>What is true of a port that could not be bound, and what to do about it.</summary>
    private static string Remedy(SocketError error, int port) => error switch
    {
        SocketError.AddressAlreadyInUse =>
            $"the port is in use by another program (another TFTP server, or another streamboot serve; 'ss -lunp sport = :{port}' shows which); stop it, or turn TFTP off with --tftp-port 0",
        SocketError.AccessDenied =>
            $"port {port} needs root or CAP_NET_BIND_SERVICE; run as root, give the program that capability, or turn TFTP off with --tftp-port 0",
        _ => $"{error}; choose another port with --tftp-port, or 0 to turn TFTP off",
    };

    [LoggerMessage(1310, LogLevel.Information, "TFTP is off (--tftp-port 0)")]
    private static partial void LogOff(ILogger logger);

    [LoggerMessage(1311, LogLevel.Warning, "TFTP not started on port {Port}, so PXE ROMs cannot load iPXE from this server: {Reason}")]
    private static partial void LogNotStarted(ILogger logger, int port, string reason);

    [LoggerMessage(1312, LogLevel.Warning, "No iPXE binaries in {Folder}: PXE ROMs will get 'file not found'. Install them with: apt-get install ipxe")]
    private static partial void LogNoIpxe(ILogger logger, string folder);
}
