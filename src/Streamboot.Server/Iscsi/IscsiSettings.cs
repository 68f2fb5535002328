using Streamboot.Protocols.Iscsi;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Iscsi;

/// <summary>Turns the iSCSI settings an admin set into the protocol server's options, or one message that says which is wrong and what it may be.</summary>
public static class IscsiSettings
{
    public static bool TryCreate(StreambootOptions options, out IscsiServerOptions? iscsi, out string? error)
    {
        ArgumentNullException.ThrowIfNull(options);
        iscsi = null;
        error = options switch
        {
            { IscsiPort: < 0 or > 65535 } => $"iSCSI port {options.IscsiPort} is out of range; use 1-65535, or 0 to turn iSCSI off (--iscsi-port)",
            _ when !IscsiNames.IsValidBaseName(options.IscsiBaseName) => $"'{options.IscsiBaseName}' is not an iSCSI base name; give Streamboot:IscsiBaseName (STREAMBOOT_ISCSI_BASE_NAME) as iqn.YYYY-MM.reversed.domain in lower case, e.g. iqn.2026-01.com.example",
            { IscsiMaxConnections: < 1 } => OutOfRange("IscsiMaxConnections", options.IscsiMaxConnections, "1 or more"),
            { IscsiMaxLoginsPerAddress: < 1 } => OutOfRange("IscsiMaxLoginsPerAddress", options.IscsiMaxLoginsPerAddress, "1 or more"),
            { IscsiFailedLoginDelayMilliseconds: < 0 or > 60000 } => OutOfRange("IscsiFailedLoginDelayMilliseconds", options.IscsiFailedLoginDelayMilliseconds, "0 to 60000"),
            { IscsiLoginTimeoutSeconds: < 1 or > 3600 } => OutOfRange("IscsiLoginTimeoutSeconds", options.IscsiLoginTimeoutSeconds, "1 to 3600"),
            { IscsiMaxConnectionsPerSession: < 1 or > 64 } => OutOfRange("IscsiMaxConnectionsPerSession", options.IscsiMaxConnectionsPerSession, "1 to 64"),
            { IscsiMaxRecvDataSegmentLength: < 512 or > IscsiProtocolLimits.MaxDataSegmentLength } => OutOfRange("IscsiMaxRecvDataSegmentLength", options.IscsiMaxRecvDataSegmentLength, "512 to 16777215"),
            { IscsiMaxBurstLength: < 512 or > IscsiProtocolLimits.MaxDataSegmentLength } => OutOfRange("IscsiMaxBurstLength", options.IscsiMaxBurstLength, "512 to 16777215"),
            _ when options.IscsiFirstBurstLength < 512 || options.IscsiFirstBurstLength > options.IscsiMaxBurstLength => OutOfRange("IscsiFirstBurstLength", options.IscsiFirstBurstLength, "512 to IscsiMaxBurstLength"),
            { IscsiCommandWindow: < 1 or > 65536 } => OutOfRange("IscsiCommandWindow", options.IscsiCommandWindow, "1 to 65536"),
            { IscsiMaxBurstsPerConnection: < 1 } => OutOfRange("IscsiMaxBurstsPerConnection", options.IscsiMaxBurstsPerConnection, "1 or more"),
            { IscsiMaxQueuedReplyBytes: < 65536 } => OutOfRange("IscsiMaxQueuedReplyBytes", options.IscsiMaxQueuedReplyBytes, "65536 or more"),
            { IscsiNopIntervalSeconds: < 0 or > 3600 } => OutOfRange("IscsiNopIntervalSeconds", options.IscsiNopIntervalSeconds, "0 (no pings) to 3600"),
            { IscsiNopTimeoutSeconds: < 1 or > 3600 } => OutOfRange("IscsiNopTimeoutSeconds", options.IscsiNopTimeoutSeconds, "1 to 3600"),
            _ => null,
        };
        if (error is not null)
        {
            return false;
        }

        iscsi = new IscsiServerOptions
        {
            MaxConnections = options.IscsiMaxConnections,
            MaxLoginsPerAddress = options.IscsiMaxLoginsPerAddress,
            LoginTimeout = TimeSpan.FromSeconds(options.IscsiLoginTimeoutSeconds),
            FailedLoginDelay = TimeSpan.FromMilliseconds(options.IscsiFailedLoginDelayMilliseconds),
            MaxConnectionsPerSession = options.IscsiMaxConnectionsPerSession,
            MaxRecvDataSegmentLength = options.IscsiMaxRecvDataSegmentLength,
            MaxBurstLength = options.IscsiMaxBurstLength,
            FirstBurstLength = options.IscsiFirstBurstLength,
            CommandWindow = options.IscsiCommandWindow,
            MaxBurstsPerConnection = options.IscsiMaxBurstsPerConnection,
            MaxQueuedReplyBytes = options.IscsiMaxQueuedReplyBytes,
            NopInterval = TimeSpan.FromSeconds(options.IscsiNopIntervalSeconds),
            NopTimeout = TimeSpan.FromSeconds(options.IscsiNopTimeoutSeconds),
        };
        return true;
    }

    /// <summary>Names the setting both ways an admin sets it: the configuration key and the environment variable.</summary>
    private static string OutOfRange(string setting, int value, string allowed) =>
        $"{setting} {value} is out of range; use {allowed} (Streamboot:{setting} in appsettings.json, or STREAMBOOT_{string.Concat(setting.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()))})";
}
