using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Protocols.Iscsi;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Iscsi;

/// <summary>
/// Runs the iSCSI target inside <c>streamboot serve</c> on <c>--iscsi-port</c>
/// (3260, the port IANA assigned to iSCSI; 0 turns it off). On stop it asks
/// every initiator to log out before it closes their connections.
/// </summary>
internal sealed class IscsiService(
    SiteIscsiTargets targets,
    IOptions<StreambootOptions> options,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private IscsiServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.IscsiPort == 0)
        {
            return Task.CompletedTask;
        }

        if (!IscsiSettings.TryCreate(settings, out var iscsi, out var error))
        {
            throw new InvalidOperationException(error);
        }

        _server = new IscsiServer(targets, iscsi, loggerFactory);
        StreambootServer.TryParseBind(settings.Bind, out var address);
        _server.Start(new IPEndPoint(address, settings.IscsiPort));
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
}
