namespace Streamboot.Data.Model;

/// <summary>A lease the DHCP server handed out in full mode, or an offer it holds; <see cref="State"/> is the protocol layer's word (offered, bound, released, declined). The address is the key every server of a site claims by.</summary>
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
