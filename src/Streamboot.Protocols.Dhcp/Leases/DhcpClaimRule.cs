namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>
/// When a new record may replace an address's record: the one rule every
/// <see cref="IDhcpLeaseStore"/> applies atomically (a database store says it
/// in the WHERE of one statement).
/// </summary>
public static class DhcpClaimRule
{
    /// <summary>
    /// Free (no record, or its time is up), or the same client's record that
    /// is not a quarantine; an offer never replaces the client's own bound
    /// lease (a rebooting client keeps its lease as it is).
    /// </summary>
    public static bool MayReplace(DhcpLease? current, DhcpLease wanted, DateTimeOffset now) =>
        current is null
        || current.Expires <= now
        || (current.Mac == wanted.Mac
            && current.State != DhcpLeaseState.Declined
            && !(wanted.State == DhcpLeaseState.Offered && current.State == DhcpLeaseState.Bound));
}
