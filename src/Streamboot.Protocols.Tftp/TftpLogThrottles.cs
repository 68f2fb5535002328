namespace Streamboot.Protocols.Tftp;

/// <summary>
/// One <see cref="LogThrottle"/> per kind of refusal a client can cause at
/// will, shared by the server and its transfers: a flood of one kind costs
/// the log <see cref="TftpServerOptions.RefusalLogLinesPerMinute"/> lines a
/// minute, and does not silence the other kinds.
/// </summary>
internal sealed class TftpLogThrottles(int linesPerMinute)
{
    /// <summary>Requests dropped at a limit (events 4004, 4006).</summary>
    public LogThrottle Dropped { get; } = new(linesPerMinute, TimeSpan.FromMinutes(1));

    /// <summary>Malformed requests, write requests, datagrams from a stranger to a transfer's port (4010, 4011, 4030).</summary>
    public LogThrottle Malformed { get; } = new(linesPerMinute, TimeSpan.FromMinutes(1));

    /// <summary>Files not found or refused (4022, 4023).</summary>
    public LogThrottle Refused { get; } = new(linesPerMinute, TimeSpan.FromMinutes(1));

    /// <summary>Transfers abandoned by a silent client (4024).</summary>
    public LogThrottle Abandoned { get; } = new(linesPerMinute, TimeSpan.FromMinutes(1));
}
