using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streamboot.Data;
using Streamboot.Data.Outage;
using Streamboot.Server.Boot;
using Streamboot.Server.Configuration;
using Streamboot.Server.Farm;
using Streamboot.Admin;
using Streamboot.Sessions;
using Streamboot.Sessions.Profiles;
using Streamboot.Server.Health;
using Streamboot.Server.Http;
using Streamboot.Server.Iscsi;
using Streamboot.Server.Metrics;
using Streamboot.Server.Nbd;
using Streamboot.Server.Network;
using Streamboot.Server.Streaming;

namespace Streamboot.Server;

/// <summary>
/// <c>streamboot serve</c>: one Generic Host with Kestrel for HTTP. Stops
/// gracefully on SIGTERM or Ctrl+C; under systemd (Type=notify) it tells the
/// service manager when it is ready and when it is stopping.
/// </summary>
public static class StreambootServer
{
    /// <summary>The key of the serving paths' view of the database (<see cref="SiteDatabase.ServingFrom"/>).</summary>
    public const string ServingDatabase = "serving";

    /// <summary>Builds the host; the database is open and migrated before this is called.</summary>
    public static WebApplication Build(IConfiguration configuration, StreambootOptions options, string dataFolder, SiteDatabase database)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Configuration.AddConfiguration(configuration);
        builder.Services.AddSystemd();
        // The options serve resolved (files, environment, flags), as they are: one source of truth.
        options.Data = dataFolder;
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton(TimeProvider.System);
        var identity = new ServerIdentity { Name = ServePreflight.NameOf(options) };
        builder.Services.AddSingleton(identity);
        builder.Services.AddHostedService<ServerRegistration>();
        // What serves clients (boot decisions, disks, DHCP) reads the database
        // through a view that falls back on this server's snapshot in an outage.
        if (database.Location.Provider == DatabaseProvider.PostgreSql && options.SnapshotSeconds > 0)
        {
            builder.Services.AddSingleton(sp => new SiteSnapshot(
                database,
                Path.Combine(dataFolder, "offline", identity.Name + ".db"),
                () => identity.Id == 0 ? null : identity.Id,
                sp.GetRequiredService<ILoggerFactory>()));
            builder.Services.AddKeyedSingleton(ServingDatabase, (sp, _) => database.ServingFrom(sp.GetRequiredService<SiteSnapshot>()));
            builder.Services.AddHostedService(sp => new DatabaseOutage(
                sp.GetRequiredService<SiteSnapshot>(),
                TimeSpan.FromSeconds(options.SnapshotSeconds),
                sp.GetRequiredService<ILogger<DatabaseOutage>>()));
        }
        else
        {
            builder.Services.AddKeyedSingleton(ServingDatabase, database);
        }

        builder.Services.AddSingleton(sp => new AdminSite(database, dataFolder, "server:" + identity.Name) { Farm = options.Farm() });
        builder.Services.AddSingleton(sp =>
        {
            var serving = sp.GetRequiredKeyedService<SiteDatabase>(ServingDatabase);
            return new SessionLayer(
                new AdminSite(serving, dataFolder, "server:" + identity.Name),
                SessionSettingsOf(options),
                BootProfileSettings.FromEnvironment(),
                () => identity.Id == 0 ? null : identity.Id,
                sp.GetRequiredService<ILoggerFactory>());
        });
        builder.Services.AddSingleton<IBootSessions>(sp => sp.GetRequiredService<SessionLayer>());
        builder.Services.AddHostedService<SessionMaintenance>();
        builder.Services.AddSingleton(ReplicaSettings.From(builder.Configuration));
        builder.Services.AddSingleton<FarmSecret>();
        builder.Services.AddSingleton<FarmUploads>();
        builder.Services.AddHostedService<ReplicaService>();
        builder.Services.AddSingleton<SiteNbdExports>();
        builder.Services.AddSingleton(sp => new HttpSessions(sp.GetRequiredService<IBootSessions>(), sp.GetRequiredService<TimeProvider>())
        {
            IdleTimeout = TimeSpan.FromSeconds(Math.Max(1, options.HttpDiskIdleSeconds)),
        });
        builder.Services.AddHostedService<NbdService>();
        builder.Services.AddSingleton(sp => new SiteIscsiTargets(sp.GetRequiredService<IBootSessions>(), options.IscsiBaseName));
        builder.Services.AddHostedService<IscsiService>();
        builder.Services.AddSingleton(sp => new SiteDhcpStore(sp.GetRequiredKeyedService<SiteDatabase>(ServingDatabase), identity, sp.GetRequiredService<TimeProvider>()));
        // Singletons as well as hosted services: the metrics read their counters.
        builder.Services.AddSingleton<TftpService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TftpService>());
        builder.Services.AddSingleton<DhcpService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DhcpService>());
        MetricsEndpoint.AddServices(builder.Services);
        Api.AdminApi.AddServices(builder.Services, options);
        WebConsole.ConsoleEndpoints.AddServices(builder.Services, new WebConsole.ConsoleSettings(
            dataFolder, TimeSpan.FromSeconds(Math.Max(1, options.ServerDownSeconds)), TimeSpan.FromSeconds(Math.Max(1, options.BootingSeconds)))
        {
            ImportFolders = Admin.Imports.ImportSource.AllowedFolders(options.ApiImportFolders, dataFolder),
            HttpPort = options.HttpPort,
            Heartbeat = TimeSpan.FromSeconds(Math.Max(1, options.HeartbeatSeconds)),
            Settle = Api.ApiVDiskRoutes.Settle,
        });
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = Math.Max(1, options.HttpMaxConnections);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(Math.Max(1, options.HttpIdleSeconds));
            var perAddress = new ConnectionsPerAddress(Math.Max(1, options.HttpMaxConnectionsPerAddress), kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Streamboot.Http"));
            var address = ParseBind(options.Bind);
            var bootFiles = new BootFileSender(
                kestrel.ApplicationServices.GetRequiredService<IBootSessions>(),
                TimeSpan.FromSeconds(Math.Max(1, options.HttpIdleSeconds)),
                kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Streamboot.Http"));
            kestrel.Listen(address, options.HttpPort, listen =>
            {
                listen.Use(perAddress.Apply);
                if (options.HttpSendfile)
                {
                    listen.Use(bootFiles.Apply);
                }
            });
            if (options.HttpsPort > 0)
            {
                // The NBD TLS certificate (the site's own, made at first need, or the admin's): one certificate to trust per server.
                var certificate = Security.SiteCertificates.Load(dataFolder, options.TlsCert, options.TlsKey, out _);
                kestrel.Listen(address, options.HttpsPort, listen =>
                {
                    listen.Use(perAddress.Apply);
                    listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.TlsHandshakeCallbackOptions
                    {
                        OnConnection = _ => ValueTask.FromResult(new System.Net.Security.SslServerAuthenticationOptions { ServerCertificateContext = certificate }),
                    });
                });
            }
        });

        var app = builder.Build();
        MetricsEndpoint.Map(app, ParseMetricsAllow(options.MetricsAllow), options.RefusalLogLinesPerMinute);
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = HealthResponse.WriteAsync });
        app.MapGet("/", () => Results.Text($"Streamboot {ServerInfo.Version}\n"));
        Api.AdminApi.Map(app);
        WebConsole.ConsoleEndpoints.Map(app);
        BootEndpoints.Map(app);
        VDiskOverHttp.Map(app);
        FarmEndpoints.Map(app);

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Streamboot.Server");
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStarted.Register(() =>
        {
            ServerLog.Serving(logger, ServerInfo.Version, dataFolder, database.Location.Describe(), options.Bind, options.HttpPort, options.NbdPort);
            ServerLog.MetricsServed(logger, MetricsEndpoint.Path, ParseMetricsAllow(options.MetricsAllow).Describe());
        });
        lifetime.ApplicationStopping.Register(() => ServerLog.Stopping(logger));
        return app;
    }

    /// <summary>The session layer's rules from the server's options.</summary>
    /// <summary>The folder of the certificates a Secure Boot client's kernel may be signed with besides shim's own.</summary>
    public static string? SecureBootCertificatesOf(StreambootOptions options) =>
        options.SecureBootCertificates ?? (options.Data is { } data ? Path.Combine(data, "secureboot", "certificates") : null);

    public static SessionSettings SessionSettingsOf(StreambootOptions options) => new()
    {
        RequireBootKey = options.BootKeys,
        ScriptsOnlyToLeasedAddress = options.BootScriptsToLeasedAddressOnly
            ?? string.Equals(options.Dhcp?.Trim(), "full", StringComparison.OrdinalIgnoreCase),
        TakeoverGuard = TimeSpan.FromSeconds(Math.Max(0, options.BootTakeoverGuardSeconds)),
        ReadCacheBytes = (long)options.ReadCacheMiB << 20,
        RamWriteCacheBytes = (long)options.RamWriteCacheMiB << 20,
        SecureBootShim = options.SecureBootShim,
        SecureBootCertificates = SecureBootCertificatesOf(options),
        StorageReadLatency = BootProfileSettings.StorageReadLatencyFromEnvironment(),
        ServerDownAfter = TimeSpan.FromSeconds(Math.Max(1, options.ServerDownSeconds)),
        BootingWindow = TimeSpan.FromSeconds(Math.Max(1, options.BootingSeconds)),
        SubnetAffinity = options.SubnetAffinity,
        RebalanceInterval = TimeSpan.FromSeconds(Math.Max(0, options.RebalanceSeconds)),
        RebalanceTriggerPercent = Math.Max(0, options.RebalanceTriggerPercent),
        MovedRefusal = TimeSpan.FromSeconds(Math.Max(1, options.MovedRefusalSeconds)),
    };

    /// <summary><c>0.0.0.0</c>, <c>::</c>, <c>*</c> or one address of this machine.</summary>
    public static bool TryParseBind(string? text, out IPAddress address)
    {
        address = IPAddress.Any;
        return text is "*" || (text is not null && IPAddress.TryParse(text, out address!));
    }

    private static MetricsAllowList ParseMetricsAllow(string text) =>
        MetricsAllowList.TryParse(text, out var list, out var bad) ? list : throw new ArgumentException($"'{bad}' is not a network or an address of --metrics-allow");

    private static IPAddress ParseBind(string text) =>
        TryParseBind(text, out var address) ? address : throw new ArgumentException($"'{text}' is not an IP address to bind to");
}
