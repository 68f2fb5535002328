using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Streamboot.Protocols.Dhcp;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Network;

/// <summary>Turns the DHCP settings an admin typed into the protocol server's options, or one message that says what is wrong and how to fix it.</summary>
public static class DhcpSettings
{
    /// <summary>Null options with a null error: DHCP is off.</summary>
    public static bool TryCreate(StreambootOptions options, out DhcpServerOptions? dhcp, out string? error)
    {
        dhcp = null;
        error = null;
        if (!options.DhcpOn)
        {
            return true;
        }

        var mode = options.Dhcp!.Trim().ToLowerInvariant();

        if (mode is not ("proxy" or "full"))
        {
            error = $"'{options.Dhcp}' is not a DHCP mode; use --dhcp off, proxy (beside the network's DHCP server) or full (this server hands out addresses)";
            return false;
        }

        if (options.DhcpMaxDatagramBytes is < DhcpProtocol.DefaultMaximumMessageSize or > 65535)
        {
            error = $"DhcpMaxDatagramBytes {options.DhcpMaxDatagramBytes} is out of range; use {DhcpProtocol.DefaultMaximumMessageSize} to 65535 (STREAMBOOT_DHCP_MAX_DATAGRAM_BYTES; RFC 2131 clients may send up to 576 bytes unasked)";
            return false;
        }

        if (options.RefusalLogLinesPerMinute < 1)
        {
            error = $"RefusalLogLinesPerMinute {options.RefusalLogLinesPerMinute} is out of range; use 1 or more (STREAMBOOT_REFUSAL_LOG_LINES_PER_MINUTE)";
            return false;
        }

        if (string.IsNullOrWhiteSpace(options.DhcpInterface))
        {
            error = $"--dhcp {mode} needs the interface of the boot network: --dhcp-interface NAME (one of: {string.Join(", ", Interfaces())})";
            return false;
        }

        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == options.DhcpInterface);
        if (nic is null)
        {
            error = $"there is no network interface '{options.DhcpInterface}'; this machine has: {string.Join(", ", Interfaces())}";
            return false;
        }

        var own = nic.GetIPProperties().UnicastAddresses.FirstOrDefault(a => a.Address.AddressFamily == AddressFamily.InterNetwork);
        if (own is null)
        {
            error = $"interface '{options.DhcpInterface}' has no IPv4 address; give it one (ip addr add 10.0.0.1/24 dev {options.DhcpInterface}) so clients can reach this server";
            return false;
        }

        if (mode == "proxy")
        {
            dhcp = new DhcpServerOptions
            {
                InterfaceName = options.DhcpInterface,
                Mode = DhcpMode.Proxy,
                SendRouterAdvertisements = options.DhcpRouterAdvertisements ?? false,
                MaxDatagramSize = options.DhcpMaxDatagramBytes,
                RefusalLogLinesPerMinute = options.RefusalLogLinesPerMinute,
            };
            return true;
        }

        if (!TryRange(options.DhcpRange, out var first, out var last))
        {
            error = options.DhcpRange is null
                ? $"--dhcp full needs the addresses to hand out: --dhcp-range FIRST-LAST, for example --dhcp-range {Suggest(own)}"
                : $"'{options.DhcpRange}' is not an address range; write FIRST-LAST, for example {Suggest(own)}";
            return false;
        }

        var mask = own.IPv4Mask;
        if (options.DhcpSubnetMask is { } typedMask && !IPAddress.TryParse(typedMask, out mask))
        {
            error = $"'{typedMask}' is not a subnet mask; write it as 255.255.255.0";
            return false;
        }

        IPAddress? router = null;
        if (options.DhcpRouter is { Length: > 0 } typedRouter && !IPAddress.TryParse(typedRouter, out router))
        {
            error = $"'{typedRouter}' is not a router address";
            return false;
        }

        var dns = new List<IPAddress>();
        foreach (var text in (options.DhcpDns ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!IPAddress.TryParse(text, out var server))
            {
                error = $"'{text}' is not a DNS server address (--dhcp-dns takes a comma-separated list)";
                return false;
            }

            dns.Add(server);
        }

        if (options.DhcpLeaseMinutes is < 1 or > 100_000)
        {
            error = $"a lease of {options.DhcpLeaseMinutes} minutes is out of range; use 1 to 100000";
            return false;
        }

        var pool = new DhcpPoolOptions
        {
            RangeStart = first,
            RangeEnd = last,
            SubnetMask = mask ?? IPAddress.Parse("255.255.255.0"),
            Router = router,
            DnsServers = dns,
            DomainName = options.DhcpDomain,
            LeaseTime = TimeSpan.FromMinutes(options.DhcpLeaseMinutes),
        };
        try
        {
            pool.Validate();
        }
        catch (ArgumentException e)
        {
            error = $"the DHCP pool is not usable: {e.Message}";
            return false;
        }

        if (!SameSubnet(own.Address, first, pool.SubnetMask))
        {
            error = $"the range {first}-{last} is not on {options.DhcpInterface}'s network ({own.Address}/{pool.SubnetMask}); clients there could not reach this server";
            return false;
        }

        dhcp = new DhcpServerOptions
        {
            InterfaceName = options.DhcpInterface,
            Mode = DhcpMode.Full,
            Pool = pool,
            SendRouterAdvertisements = options.DhcpRouterAdvertisements ?? true,
            MaxDatagramSize = options.DhcpMaxDatagramBytes,
            RefusalLogLinesPerMinute = options.RefusalLogLinesPerMinute,
        };
        return true;
    }

    private static bool TryRange(string? text, out IPAddress first, out IPAddress last)
    {
        first = last = IPAddress.None;
        var parts = (text ?? "").Split('-', StringSplitOptions.TrimEntries);
        return parts.Length == 2
            && IPAddress.TryParse(parts[0], out first!) && first.AddressFamily == AddressFamily.InterNetwork
            && IPAddress.TryParse(parts[1], out last!) && last.AddressFamily == AddressFamily.InterNetwork;
    }

    private static bool SameSubnet(IPAddress a, IPAddress b, IPAddress mask)
    {
        var x = a.GetAddressBytes();
        var y = b.GetAddressBytes();
        var m = mask.GetAddressBytes();
        return Enumerable.Range(0, 4).All(i => (x[i] & m[i]) == (y[i] & m[i]));
    }

    private static string Suggest(UnicastIPAddressInformation own)
    {
        var b = own.Address.GetAddressBytes();
        return $"{b[0]}.{b[1]}.{b[2]}.100-{b[0]}.{b[1]}.{b[2]}.199";
    }

    private static IEnumerable<string> Interfaces() =>
        NetworkInterface.GetAllNetworkInterfaces().Where(n => n.NetworkInterfaceType != NetworkInterfaceType.Loopback).Select(n => n.Name);
}
