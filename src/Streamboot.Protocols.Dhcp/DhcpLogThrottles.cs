namespace Streamboot.Protocols.Dhcp;

/// <summary>
/// One <see cref="LogThrottle"/> per kind of drop a client can cause at will:
/// a flood of one kind costs the log
/// <see cref="DhcpServerOptions.RefusalLogLinesPerMinute"/> lines a minute and
/// does not silence the other kinds. <see cref="DhcpCounters"/> count them all.
/// </summary>
internal sealed class DhcpLogThrottles(int linesPerMinute)
{
    /// <summary>Malformed and oversized datagrams (events 3004, 3010).</summary>
    public LogThrottle Malformed { get; } = new(linesPerMinute, TimeSpan.FromMinutes(1));

    /// <summary>Requests this server does not answer by design (3003).</summary>
    public LogThrottle Dropped { get; } = new(linesPerMinute, TimeSpan.FromMinutes(1));

    /// <summary>Requests it cannot answer: pool exhausted, reply too large (3006).</summary>
    public LogThrottle NotAnswered { get; } = new(linesPerMinute, TimeSpan.FromMinutes(1));

    /// <summary>The host's policy, reservations or store failing (3007).</summary>
    public LogThrottle HostFailed { get; } = new(linesPerMinute, TimeSpan.FromMinutes(1));
}
