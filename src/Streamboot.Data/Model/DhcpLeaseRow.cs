namespace Streamboot.Data.Model;

/// <summary>A lease the DHCP server handed out in full mode; <see cref="State"/> is the protocol layer's word (bound, released, declined).</summary>
public sealed class DhcpLeaseRow
{
    public required string Address { get; set; }

    public required string Mac { get; set; }

    public required string State { get; set; }

    public DateTime ExpiresAt { get; set; }

    public string? HostName { get; set; }

    public long? ServerId { get; set; }

    public DateTime UpdatedAt { get; set; }
}
