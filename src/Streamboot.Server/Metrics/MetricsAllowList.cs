using System.Net;

namespace Streamboot.Server.Metrics;

/// <summary>
/// The client networks that may read <c>/metrics</c>
/// (<c>--metrics-allow 10.0.0.0/8,192.168.1.5</c>): networks in CIDR
/// notation or single addresses, comma separated; <c>none</c> for no one.
/// Metrics tell how a site is built and used (how many clients, which
/// protocols, how busy), so by default only this machine may ask. The
/// address judged is the TCP peer's, never a header a client wrote.
/// </summary>
public sealed class MetricsAllowList
{
    public const string Default = "127.0.0.0/8,::1/128";

    private readonly IPNetwork[] _networks;

    private MetricsAllowList(IPNetwork[] networks) => _networks = networks;

    /// <summary>The networks as given, for the log line that says who may scrape.</summary>
    public string Describe() => _networks.Length == 0 ? "none" : string.Join(",", _networks);

    public static bool TryParse(string? text, out MetricsAllowList list, out string? bad)
    {
        list = new MetricsAllowList([]);
        bad = null;
        var trimmed = text?.Trim() ?? "";
        if (trimmed.Length == 0 || trimmed.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var networks = new List<IPNetwork>();
        foreach (var part in trimmed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (IPNetwork.TryParse(part, out var network))
            {
                networks.Add(network);
            }
            else if (!part.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(part, out var address))
            {
                networks.Add(new IPNetwork(address, address.GetAddressBytes().Length * 8));
            }
            else
            {
                bad = part;
                return false;
            }
        }

        list = new MetricsAllowList([.. networks]);
        return true;
    }

    public bool Allows(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        // An IPv4 client of a dual-stack socket is judged as the IPv4 address it is.
        var normal = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var network in _networks)
        {
            if (network.Contains(normal))
            {
                return true;
            }
        }

        return false;
    }
}
