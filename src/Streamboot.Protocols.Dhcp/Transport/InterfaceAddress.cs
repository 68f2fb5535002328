using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Streamboot.Protocols.Dhcp.Transport;

/// <summary>The server's own IPv4 address on the interface it serves (for option 54 and siaddr), learned from the kernel.</summary>
internal sealed record InterfaceAddress(string Name, int Index, IPAddress? Address, IPAddress? Mask)
{
    public static InterfaceAddress Find(string name)
    {
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == name)
            ?? throw new InvalidOperationException($"there is no network interface '{name}'");
        var properties = nic.GetIPProperties();
        var ipv4 = properties.UnicastAddresses.FirstOrDefault(a => a.Address.AddressFamily == AddressFamily.InterNetwork);
        var index = nic.Supports(NetworkInterfaceComponent.IPv6) ? properties.GetIPv6Properties().Index : properties.GetIPv4Properties().Index;
        return new InterfaceAddress(name, index, ipv4?.Address, ipv4?.IPv4Mask);
    }
}
