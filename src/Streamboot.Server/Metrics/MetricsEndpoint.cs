using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Streamboot.Telemetry;

namespace Streamboot.Server.Metrics;

/// <summary>
/// <c>GET /metrics</c>: the Streamboot meter in Prometheus' text format, for
/// the client networks of <see cref="MetricsAllowList"/> only; anyone else
/// gets 403 and a log line (throttled, naming only the TCP peer's address).
/// The OpenTelemetry SDK aggregates the instruments and its Prometheus
/// exporter writes them: docs/metrics.md says why this pair.
/// </summary>
public static partial class MetricsEndpoint
{
    public const string Path = "/metrics";

    internal static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<ServerMetrics>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("streamboot", serviceVersion: ServerInfo.Version, autoGenerateServiceInstanceId: false))
            .WithMetrics(metrics => AddStreambootMetrics(metrics));
    }

    /// <summary>What the server's meter provider listens to and how it exports: the server and bench/Streamboot.Micro build it here.</summary>
    public static MeterProviderBuilder AddStreambootMetrics(MeterProviderBuilder metrics) => metrics
        .AddMeter(StreambootMetrics.MeterName)
        .AddPrometheusExporter(exporter =>
        {
            // Every scrape collects anew: only allowed networks scrape, and a
            // test or an admin's curl right after some traffic sees it.
            exporter.ScrapeResponseCacheDurationMilliseconds = 0;
            // One meter: the otel_scope_* labels on every series would say nothing.
            exporter.ScopeInfoEnabled = false;
        });

    /// <summary>Counts every HTTP request and 5xx answer (first in the pipeline), and maps the scrape endpoint behind the allow-list.</summary>
    internal static void Map(WebApplication app, MetricsAllowList allowed, int refusalLogLinesPerMinute)
    {
        app.Use(CountAsync);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Streamboot.Metrics");
        var throttle = new LogThrottle(Math.Max(1, refusalLogLinesPerMinute), TimeSpan.FromMinutes(1));
        // The SDK listens from now on (not from the host's start), so the
        // counters ServerMetrics starts at 0 are seen; the gauges exist before the first scrape.
        app.Services.GetRequiredService<MeterProvider>();
        app.Services.GetRequiredService<ServerMetrics>();
        app.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (http, next) =>
        {
            var peer = http.Connection.RemoteIpAddress;
            if (allowed.Allows(peer))
            {
                await next(http);
                return;
            }

            StreambootMetrics.Refused(StreambootMetrics.Http, "metrics_not_allowed");
            if (throttle.TryAcquire(out var suppressed))
            {
                LogRefused(logger, peer is null ? "(unknown)" : Http.ClientAddress.Normal(peer).ToString(), suppressed);
            }

            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            await http.Response.WriteAsync("metrics are served to the networks of --metrics-allow only\n", http.RequestAborted);
        }), optionsName: null);
    }

    private static async Task CountAsync(HttpContext http, RequestDelegate next)
    {
        StreambootMetrics.HttpTraffic.Request();
        await next(http);
        if (http.Response.StatusCode >= 500)
        {
            StreambootMetrics.Failed(StreambootMetrics.Http, http.Response.StatusCode switch
            {
                500 => "http_500",
                503 => "http_503",
                _ => "http_5xx",
            });
        }
    }

    [LoggerMessage(1011, LogLevel.Warning, "HTTP: refused /metrics to {Address}: not in the networks of Streamboot:MetricsAllow ({Suppressed} more not logged before it)")]
    private static partial void LogRefused(ILogger logger, string address, long suppressed);
}
