namespace Streamboot.Protocols.Dhcp.Leases;

public readonly record struct DhcpPoolResult(DhcpPoolOutcome Outcome, DhcpLease? Lease, string? Reason = null)
{
    public static DhcpPoolResult Granted(DhcpLease lease) => new(DhcpPoolOutcome.Granted, lease);

    public static DhcpPoolResult Refused(string reason) => new(DhcpPoolOutcome.Refused, null, reason);

    public static DhcpPoolResult Exhausted(string reason) => new(DhcpPoolOutcome.Exhausted, null, reason);
}
