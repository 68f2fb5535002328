using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Peers;

/// <summary>nmap's DHCP scripts (Debian's nmap package) in the test's namespace.</summary>
public static class Nmap
{
    /// <summary>
    /// broadcast-dhcp-discover: one DISCOVER (no option 60, so not PXE) from
    /// <paramref name="mac"/>, printing each OFFER heard within 3 s.
    /// </summary>
    public static async Task<string> BroadcastDiscoverAsync(DhcpBench bench, string mac)
    {
        // nmap skips its scripts on an interface without an IPv4 address (it sends from 0.0.0.0 all the same).
        await Tools.CheckAsync(Tools.Ip, "-n", bench.Link.Namespace, "addr", "replace", $"{bench.Link.Address(250)}/24", "dev", bench.Link.ClientInterface);
        var result = await bench.Link.RunAsync(
            Tools.Nmap,
            ["-n", "-e", bench.Link.ClientInterface, "--script", "broadcast-dhcp-discover",
             "--script-args", $"broadcast-dhcp-discover.timeout=3s,broadcast-dhcp-discover.mac={mac}"],
            TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout;
    }

    /// <summary>dhcp-discover: a DHCPINFORM unicast to the server from the namespace's static address.</summary>
    public static async Task<string> InformAsync(DhcpBench bench)
    {
        var result = await bench.Link.RunAsync(
            Tools.Nmap,
            ["-n", "-Pn", "-sU", "-p", "67", "-e", bench.Link.ClientInterface, "--script", "dhcp-discover", bench.ServerAddress.ToString()],
            TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout;
    }
}
