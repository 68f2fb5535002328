using System.Net;
using System.Net.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Protocols.Nbd;
using Streamboot.Server.Configuration;
using Streamboot.Server.Security;
using Streamboot.Server.Streaming;

namespace Streamboot.Server.Nbd;

/// <summary>
/// Runs the NBD server inside <c>streamboot serve</c> on <c>--nbd-port</c>
/// (10809, the port IANA assigned to NBD) and writes the live sessions'
/// counters to the database every few seconds for <c>session list</c>.
/// </summary>
internal sealed class NbdService(
    SiteNbdExports exports,
    SessionRegistry registry,
    IOptions<StreambootOptions> options,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private NbdServer? _server;

    public override Task StartAsync(CancellationToken cancellationToken)
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
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync();
        }

        await base.StopAsync(cancellationToken);
        await registry.ReportAsync(CancellationToken.None);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await registry.ReportAsync(stoppingToken);
                }
                catch (System.Data.Common.DbException)
                {
                    // Counters are best effort; the next tick retries.
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose();
    }
}
