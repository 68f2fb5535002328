using System.Net;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Leases;
using Streamboot.Protocols.Dhcp.Tests.Support;

namespace Streamboot.Protocols.Dhcp.Tests.Answers;

/// <summary>What the host gets wrong when it builds a server: told at construction or start, in words.</summary>
public sealed class DhcpServerTests
{
    [Fact]
    public void Full_mode_needs_a_pool_and_names_fit_linux() =>
        Assert.Multiple(
            () => Assert.Throws<ArgumentException>(() => new DhcpServer(new DhcpServerOptions { InterfaceName = "eth9", Mode = DhcpMode.Full }, new DefaultDhcpBootPolicy())),
            () => Assert.Throws<ArgumentException>(() => new DhcpServer(new DhcpServerOptions { InterfaceName = "a-name-too-long-for-linux" }, new DefaultDhcpBootPolicy())),
            () => Assert.Throws<ArgumentException>(() => new DhcpServer(
                new DhcpServerOptions
                {
                    InterfaceName = "eth9",
                    Mode = DhcpMode.Full,
                    Pool = new DhcpPoolOptions { RangeStart = IPAddress.Parse("10.0.0.9"), RangeEnd = IPAddress.Parse("10.0.0.1"), SubnetMask = IPAddress.Parse("255.255.255.0") },
                },
                new DefaultDhcpBootPolicy())));

    [Fact]
    public async Task A_missing_interface_is_named_at_start()
    {
        await using var server = new DhcpServer(new DhcpServerOptions { InterfaceName = "sbnosuch0" }, new DefaultDhcpBootPolicy());
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync());
        Assert.Contains("sbnosuch0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_interface_without_ipv4_is_refused_and_one_with_it_is_learned()
    {
        await using var link = await TestLink.CreateAsync();
        await Tools.CheckAsync(Tools.Ip, "addr", "flush", "dev", link.HostInterface);
        await using (var server = new DhcpServer(new DhcpServerOptions { InterfaceName = link.HostInterface }, new DefaultDhcpBootPolicy()))
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync());
            Assert.Contains("no IPv4 address", error.Message, StringComparison.Ordinal);
        }

        await Tools.CheckAsync(Tools.Ip, "addr", "add", $"{link.HostAddress}/24", "dev", link.HostInterface);
        await using var learning = new DhcpServer(new DhcpServerOptions { InterfaceName = link.HostInterface }, new DefaultDhcpBootPolicy());
        await learning.StartAsync();
        Assert.Equal(link.HostAddress, learning.ServerAddress);
    }
}
