using System.Net;
using System.Net.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Protocols.Nbd;
using Streamboot.Server.Configuration;
using Streamboot.Server.Security;

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
        var settings = options.Value;
        if (!NbdSettings.TryValidate(settings, out var error))
        {
            throw new InvalidOperationException(error);
        }

        NbdSettings.TryParseTls(settings.Tls, out var tls);
        SslStreamCertificateContext? certificate = null;
        if (tls != NbdTlsMode.Off)
        {
            // Throws SiteCertificateException with what to fix; serve prints it.
            certificate = SiteCertificates.Load(settings.Data!, settings.TlsCert, settings.TlsKey, out var made);
            var logger = loggerFactory.CreateLogger("Streamboot.Server");
            if (made is not null)
            {
                ServerLog.TlsCertificatesMade(logger, made);
            }

            ServerLog.NbdTls(logger, settings.Tls, certificate.TargetCertificate.Subject, certificate.TargetCertificate.NotAfter);
        }

        _server = new NbdServer(exports, NbdSettings.Create(settings, certificate), loggerFactory);
        StreambootServer.TryParseBind(settings.Bind, out var address);
        _server.Start(new IPEndPoint(address, settings.NbdPort));
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
