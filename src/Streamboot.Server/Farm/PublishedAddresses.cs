using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Farm;

/// <summary>
/// The addresses this server publishes in its row, where the boot scripts
/// of the farm's other servers send clients: <c>--address</c> when given,
/// else the bind address when it is one, else every up IPv4 address of this
/// machine's interfaces but loopback, each with its prefix length so a
/// script can pick the one on the client's subnet.
/// </summary>
public static class PublishedAddresses
{
    public static string Of(StreambootOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Address))
        {
            return string.Join(',', options.Address.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        if (IPAddress.TryParse(options.Bind, out var bind) && !bind.Equals(IPAddress.Any) && !bind.Equals(IPAddress.IPv6Any))
        {
            return WithPrefix(bind) ?? bind.ToString();
        }

        return string.Join(',', Interfaces().Select(a => $"{a.Address}/{a.PrefixLength.ToString(CultureInfo.InvariantCulture)}"));
    }

    /// <summary>Whether <paramref name="text"/> is a list of addresses, each optionally /PREFIX; the first bad part otherwise.</summary>
    public static bool TryValidate(string? text, out string? bad)
    {
        bad = null;
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            var host = slash < 0 ? part : part[..slash];
            if (!IPAddress.TryParse(host, out var address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
                || (slash >= 0 && (!int.TryParse(part[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
                    || prefix > (address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))))
            {
                bad = part;
                return false;
            }
        }

        return true;
    }

    private static string? WithPrefix(IPAddress address) =>
        Interfaces().FirstOrDefault(a => a.Address.Equals(address)) is { } found
            ? $"{found.Address}/{found.PrefixLength.ToString(CultureInfo.InvariantCulture)}"
            : null;

    private static IEnumerable<UnicastIPAddressInformation> Interfaces()
    {
        NetworkInterface[] interfaces;
        try
        {
            interfaces = NetworkInterface.GetAllNetworkInterfaces();
        }
        catch (NetworkInformationException)
        {
            yield break;
        }

        foreach (var nic in interfaces)
        {
            if (nic.OperationalStatus != OperationalStatus.Up && nic.OperationalStatus != OperationalStatus.Unknown)
            {
                continue;
            }

            if (nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(unicast.Address))
                {
                    yield return unicast;
                }
            }
        }
    }
}
