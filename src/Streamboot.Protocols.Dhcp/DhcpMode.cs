namespace Streamboot.Protocols.Dhcp;

/// <summary>What part the server plays on its network.</summary>
public enum DhcpMode
{
    /// <summary>
    /// Beside the network's own DHCP server: answer PXE clients only, with boot
    /// information and no address (PXE 2.1 §2.2.3 proxyDHCP), on 67 and 4011.
    /// </summary>
    Proxy,

    /// <summary>The network's DHCP server: addresses for every client, boot information for PXE clients.</summary>
    Full,
}
