using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Protocols.Nbd;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Nbd;

/// <summary>Runs the NBD server inside <c>streamboot serve</c> on <c>--nbd-port</c> (10809, the port IANA assigned to NBD).</summary>
internal sealed class NbdService(
    SiteNbdExports exports,
    IOptions<StreambootOptions> options,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private NbdServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _server = new NbdServer(exports, new NbdServerOptions(), loggerFactory);
        StreambootServer.TryParseBind(options.Value.Bind, out var address);
        _server.Start(new IPEndPoint(address, options.Value.NbdPort));
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
