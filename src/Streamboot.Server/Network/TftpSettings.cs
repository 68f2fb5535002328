using Streamboot.Protocols.Tftp;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Network;

/// <summary>Turns the TFTP limits an admin set into the protocol server's options, or one message that says which is wrong and what it may be.</summary>
public static class TftpSettings
{
    public static bool TryCreate(StreambootOptions options, out TftpServerOptions? tftp, out string? error)
    {
        ArgumentNullException.ThrowIfNull(options);
        tftp = null;
        error = options switch
        {
            { TftpMaxTransfers: < 1 } => OutOfRange("TftpMaxTransfers", options.TftpMaxTransfers, "1 or more"),
            { TftpMaxTransfersPerClient: < 1 } => OutOfRange("TftpMaxTransfersPerClient", options.TftpMaxTransfersPerClient, "1 or more"),
            { TftpMaxTimeoutSeconds: < 1 or > 255 } => OutOfRange("TftpMaxTimeoutSeconds", options.TftpMaxTimeoutSeconds, "1 to 255 (RFC 2349)"),
            { TftpMaxRetrySeconds: < 1 or > 3600 } => OutOfRange("TftpMaxRetrySeconds", options.TftpMaxRetrySeconds, "1 to 3600"),
            { RefusalLogLinesPerMinute: < 1 } => OutOfRange("RefusalLogLinesPerMinute", options.RefusalLogLinesPerMinute, "1 or more"),
            _ => null,
        };
        if (error is not null)
        {
            return false;
        }

        tftp = new TftpServerOptions
        {
            MaxTransfers = options.TftpMaxTransfers,
            MaxTransfersPerClient = options.TftpMaxTransfersPerClient,
            MaxTimeoutOption = TimeSpan.FromSeconds(options.TftpMaxTimeoutSeconds),
            MaxRetryTime = TimeSpan.FromSeconds(options.TftpMaxRetrySeconds),
            RefusalLogLinesPerMinute = options.RefusalLogLinesPerMinute,
        };
        return true;
    }

    /// <summary>Names the setting both ways an admin sets it: the configuration key and the environment variable.</summary>
    private static string OutOfRange(string setting, int value, string allowed) =>
        $"{setting} {value} is out of range; use {allowed} (Streamboot:{setting} in appsettings.json, or STREAMBOOT_{string.Concat(setting.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()))})";
}
