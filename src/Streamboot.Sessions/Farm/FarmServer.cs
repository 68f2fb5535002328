using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Streamboot.Sessions.Farm;

/// <summary>
/// A server of the farm as the boot script names it to a client: the host
/// on the client's side (its address on the client's subnet when it has
/// one) and its ports.
/// </summary>
public sealed record FarmServer(long Id, string Name, string Host, int HttpPort, int NbdPort, int IscsiPort)
{
    /// <summary><c>HOST:PORT</c> of its NBD endpoint, IPv6 hosts in brackets.</summary>
    public string NbdEndpoint => $"{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{NbdPort.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Where a new boot goes: the chosen server (null: this one, as the client
/// reached it) and the others that may continue the boot if it dies.
/// </summary>
public sealed record BootPlacement(FarmServer? Server, IReadOnlyList<FarmServer> Alternates)
{
    public static BootPlacement Here { get; } = new(null, []);
}

/// <summary>A server's published addresses, <c>ADDRESS/PREFIX</c> comma-separated, and which one a client should use.</summary>
public static class ServerAddresses
{
    public static IReadOnlyList<(IPAddress Address, int Prefix)> Parse(string? text)
    {
        var list = new List<(IPAddress, int)>();
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            var host = slash < 0 ? part : part[..slash];
            if (!IPAddress.TryParse(host, out var address))
            {
                continue;
            }

            var max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            var prefix = slash < 0 || !int.TryParse(part[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > max ? max : p;
            list.Add((address, prefix));
        }

        return list;
    }

    /// <summary>The address on <paramref name="client"/>'s subnet, else the first; null when none is published.</summary>
    public static IPAddress? For(IReadOnlyList<(IPAddress Address, int Prefix)> addresses, IPAddress? client)
    {
        if (addresses.Count == 0)
        {
            return null;
        }

        if (client is not null)
        {
            foreach (var (address, prefix) in addresses)
            {
                if (SameSubnet(address, client, prefix))
                {
                    return address;
                }
            }
        }

        return addresses[0].Address;
    }

    public static bool OnSubnetOf(IReadOnlyList<(IPAddress Address, int Prefix)> addresses, IPAddress client) =>
        addresses.Any(a => SameSubnet(a.Address, client, a.Prefix));

    public static bool SameSubnet(IPAddress a, IPAddress b, int prefix)
    {
        if (a.IsIPv4MappedToIPv6)
        {
            a = a.MapToIPv4();
        }

        if (b.IsIPv4MappedToIPv6)
        {
            b = b.MapToIPv4();
        }

        if (a.AddressFamily != b.AddressFamily)
        {
            return false;
        }

        var x = a.GetAddressBytes();
        var y = b.GetAddressBytes();
        for (var bit = 0; bit < prefix; bit++)
        {
            var mask = 0x80 >> (bit % 8);
            if ((x[bit / 8] & mask) != (y[bit / 8] & mask))
            {
                return false;
            }
        }

        return true;
    }
}
