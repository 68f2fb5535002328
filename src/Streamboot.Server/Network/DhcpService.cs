using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Protocols.Dhcp;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Network;

/// <summary>
/// Step 1 of the boot inside <c>streamboot serve</c>: DHCP in proxy or full
/// mode on the boot network's interface (off unless configured). PXE ROMs
/// get iPXE by TFTP (<c>undionly.kpxe</c> for BIOS, the UEFI file for x64
/// UEFI, or the Secure Boot chain's shim for a machine set to it:
/// <see cref="SiteDhcpBootPolicy"/>); iPXE gets this server's boot-script URL.
/// </summary>
internal sealed partial class DhcpService(
    IOptions<StreambootOptions> options,
    SiteDhcpStore store,
    Sessions.IBootSessions sessions,
    ILoggerFactory loggerFactory,
    TimeProvider clock) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Streamboot.Dhcp");
    private DhcpServer? _server;

    /// <summary>The DHCP server's counters, or null while DHCP is off.</summary>
    public DhcpCounters? Counters => _server?.Counters;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!DhcpSettings.TryCreate(options.Value, out var settings, out var error))
        {
            // serve checks the settings before it starts; this is for hosts built another way.
            throw new InvalidOperationException(error);
        }

        if (settings is null)
        {
            LogOff(_logger);
            return;
        }

        var policy = new SiteDhcpBootPolicy(
            new DefaultDhcpBootPolicy(new DefaultDhcpBootPolicyOptions
            {
                EfiX64BootFile = options.Value.UefiBootFile,
                // The script's own URL with the client's MAC and iPXE's settings: iPXE fetches the
                // decision at once instead of a script that only asks again saying who it is.
                IpxeScriptUrl = Boot.IpxeScript.SelfDescribingUrl($"http://{{server}}:{options.Value.HttpPort}", "{mac}"),
            }),
            sessions,
            options.Value.SecureBootFile);
        var full = settings.Mode == DhcpMode.Full;
        _server = new DhcpServer(settings, policy, full ? store : null, full ? store : null, loggerFactory, clock);
        await _server.StartAsync(cancellationToken);
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

    [LoggerMessage(1300, LogLevel.Information, "DHCP is off: PXE clients are answered by the network's own DHCP server, or start serve with --dhcp proxy|full --dhcp-interface NAME")]
    private static partial void LogOff(ILogger logger);
}
