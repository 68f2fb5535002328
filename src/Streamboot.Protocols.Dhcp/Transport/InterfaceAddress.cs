using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Streamboot.Protocols.Dhcp.Transport;

/// <summary>The server's own IPv4 address on the interface it serves (for option 54 and siaddr), learned from the kernel.</summary>
internal static class InterfaceAddress
{
    /// <summary>The interface's first (primary) IPv4 address, or null when it has none; throws when there is no such interface.</summary>
    public static IPAddress? FirstIPv4(string name)
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == name)
            ?? throw new InvalidOperationException($"there is no network interface '{name}'");
        return nic.GetIPProperties().UnicastAddresses.FirstOrDefault(a => a.Address.AddressFamily == AddressFamily.InterNetwork)?.Address;
    }
}
