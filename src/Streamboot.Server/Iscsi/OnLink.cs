using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Streamboot.Server.Iscsi;

/// <summary>
/// Whether a client is on the same IPv4 subnet as the address of this
/// server it reached: then its storage traffic needs no router, and the
/// boot script takes the gateway out of the iBFT (Windows sends iSCSI
/// traffic to the iBFT's gateway even for a target on its own subnet,
/// known trouble from iPXE's tracker).
/// </summary>
public static class OnLink
{
    public static bool SameSubnet(IPAddress? local, IPAddress? remote)
    {
        if (local is null || remote is null)
        {
            return false;
        }

        local = local.IsIPv4MappedToIPv6 ? local.MapToIPv4() : local;
        remote = remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote;
        if (local.AddressFamily != AddressFamily.InterNetwork || remote.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        foreach (var nic in SafeInterfaces())
        {
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                if (unicast.Address.Equals(local) && unicast.PrefixLength is > 0 and <= 32)
                {
                    var mask = unicast.PrefixLength == 32 ? uint.MaxValue : ~(uint.MaxValue >> unicast.PrefixLength);
                    return (ToUInt(local) & mask) == (ToUInt(remote) & mask);
                }
            }
        }

        return false;
    }

    private static NetworkInterface[] SafeInterfaces()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    private static uint ToUInt(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
    }
}
