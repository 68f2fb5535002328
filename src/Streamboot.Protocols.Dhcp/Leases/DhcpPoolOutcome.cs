namespace Streamboot.Protocols.Dhcp.Leases;

public enum DhcpPoolOutcome
{
    /// <summary>The client may have (or keep) the address.</summary>
    Granted,

    /// <summary>The address is wrong for this client (another's, reserved, outside the subnet): DHCPNAK.</summary>
    Refused,

    /// <summary>No free address (or the client's reservation is held by someone else).</summary>
    Exhausted,
}
