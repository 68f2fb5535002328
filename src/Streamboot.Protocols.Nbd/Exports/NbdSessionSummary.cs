namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>What the session-ended callback learns about a finished session.</summary>
public sealed record NbdSessionSummary(
    NbdConnectionInfo Connection,
    string ExportName,
    NbdSessionEndReason Reason,
    long Requests,
    long BytesRead,
    long BytesWritten,
    TimeSpan Duration);
