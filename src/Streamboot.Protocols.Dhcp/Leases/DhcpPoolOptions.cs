using System.Net;

namespace Streamboot.Protocols.Dhcp.Leases;

/// <summary>The address pool and the network configuration that full mode hands out.</summary>
public sealed class DhcpPoolOptions
{
    /// <summary>First address given out.</summary>
    public required IPAddress RangeStart { get; init; }

    /// <summary>Last address given out (inclusive).</summary>
    public required IPAddress RangeEnd { get; init; }

    /// <summary>Option 1; the range and reservations must lie in this subnet.</summary>
    public required IPAddress SubnetMask { get; init; }

    /// <summary>Option 3; none on an isolated boot network.</summary>
    public IPAddress? Router { get; init; }

    /// <summary>Option 6.</summary>
    public IReadOnlyList<IPAddress> DnsServers { get; init; } = [];

    /// <summary>Option 15.</summary>
    public string? DomainName { get; init; }

    /// <summary>Option 51; T1 (58) and T2 (59) are 1/2 and 7/8 of it (RFC 2131 §4.4.5).</summary>
    public TimeSpan LeaseTime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long an offered address waits for the client's REQUEST before another client may get it.</summary>
    public TimeSpan OfferHoldTime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a declined address (in use by someone unknown) stays out of the pool.</summary>
    public TimeSpan DeclineQuarantine { get; init; } = TimeSpan.FromMinutes(10);

    public void Validate()
    {
        var mask = IPv4.ToUInt32(SubnetMask);
        if (mask == 0 || (~mask & (~mask + 1)) != 0)
        {
            throw new ArgumentException($"subnet mask {SubnetMask} is not contiguous");
        }

        var start = IPv4.ToUInt32(RangeStart);
        var end = IPv4.ToUInt32(RangeEnd);
        if (start > end)
        {
            throw new ArgumentException($"the range {RangeStart}-{RangeEnd} is empty");
        }

        if ((start & mask) != (end & mask))
        {
            throw new ArgumentException($"the range {RangeStart}-{RangeEnd} is not inside one {SubnetMask} subnet");
        }

        if (LeaseTime < TimeSpan.FromSeconds(2) || LeaseTime.TotalSeconds >= uint.MaxValue)
        {
            throw new ArgumentException($"lease time {LeaseTime} is out of range");
        }
    }
}
