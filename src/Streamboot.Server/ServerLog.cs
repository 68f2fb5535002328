using Microsoft.Extensions.Logging;

namespace Streamboot.Server;

/// <summary>The server's log lines, with stable event ids (1000-1999: host and farm).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1000, LogLevel.Information, "Streamboot {Version} serving: data {DataFolder}, database {Database}, HTTP on {Bind}:{HttpPort}, NBD on port {NbdPort}")]
    public static partial void Serving(ILogger logger, string version, string dataFolder, string database, string bind, int httpPort, int nbdPort);

    [LoggerMessage(1007, LogLevel.Information, "Metrics at {Path} for {Networks} (--metrics-allow)")]
    public static partial void MetricsServed(ILogger logger, string path, string networks);

    [LoggerMessage(1001, LogLevel.Information, "Registered as server '{ServerName}' (id {ServerId})")]
    public static partial void Registered(ILogger logger, string serverName, long serverId);

    [LoggerMessage(1002, LogLevel.Warning, "Ended {Count} session(s) left open by an earlier run of server '{ServerName}'")]
    public static partial void EndedStaleSessions(ILogger logger, int count, string serverName);

    [LoggerMessage(1090, LogLevel.Warning, "Farm: ended {Count} session(s) of servers that are down; their clients may continue on another server")]
    public static partial void EndedSessionsOfDownServers(ILogger logger, int count);

    [LoggerMessage(1003, LogLevel.Warning, "Heartbeat to the database failed: {Reason}")]
    public static partial void HeartbeatFailed(ILogger logger, string reason);

    [LoggerMessage(1004, LogLevel.Information, "Streamboot stopping")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(1005, LogLevel.Information, "TLS: made {What}")]
    public static partial void TlsCertificatesMade(ILogger logger, string what);

    [LoggerMessage(1006, LogLevel.Information, "NBD TLS {Mode}: certificate {Subject}, valid until {NotAfter:yyyy-MM-dd}")]
    public static partial void NbdTls(ILogger logger, string mode, string subject, DateTime notAfter);
}
