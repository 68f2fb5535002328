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
    // Every boot script asks, and reading the interfaces costs more than the
    // rest of the script: they are read again after this long.
    private static readonly TimeSpan s_fresh = TimeSpan.FromSeconds(5);
    private static Snapshot? s_addresses;

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

        foreach (var (address, prefix) in Addresses())
        {
            if (address.Equals(local))
            {
                var mask = prefix == 32 ? uint.MaxValue : ~(uint.MaxValue >> prefix);
                return (ToUInt(local) & mask) == (ToUInt(remote) & mask);
            }
        }

        return false;
    }

    /// <summary>This host's IPv4 addresses with their prefix lengths, read at most every <see cref="s_fresh"/>.</summary>
    private static (IPAddress Address, int Prefix)[] Addresses()
    {
        var now = Environment.TickCount64;
        if (Volatile.Read(ref s_addresses) is { } cached && now - cached.ReadAt < (long)s_fresh.TotalMilliseconds)
        {
            return cached.Addresses;
        }

        var addresses = SafeInterfaces()
            .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
            .Where(u => u.Address.AddressFamily == AddressFamily.InterNetwork && u.PrefixLength is > 0 and <= 32)
            .Select(u => (u.Address, u.PrefixLength))
            .ToArray();
        Volatile.Write(ref s_addresses, new Snapshot(now, addresses));
        return addresses;
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

    private sealed record Snapshot(long ReadAt, (IPAddress Address, int Prefix)[] Addresses);
}
