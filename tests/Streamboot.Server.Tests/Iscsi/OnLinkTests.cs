using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Streamboot.Server.Iscsi;

namespace Streamboot.Server.Tests.Iscsi;

/// <summary>Whether a client shares the subnet of the server address it reached, from this host's real interfaces.</summary>
public sealed class OnLinkTests
{
    [Fact]
    public void A_client_on_the_subnet_of_the_address_it_reached_is_on_link_and_others_are_not()
    {
        // Loopback is 127.0.0.1/8 on every Linux host.
        var loopback = IPAddress.Loopback;
        Assert.True(OnLink.SameSubnet(loopback, IPAddress.Parse("127.40.3.9")));
        Assert.True(OnLink.SameSubnet(loopback.MapToIPv6(), IPAddress.Parse("127.1.1.1").MapToIPv6()));
        Assert.False(OnLink.SameSubnet(loopback, IPAddress.Parse("10.0.0.1")));
        Assert.False(OnLink.SameSubnet(IPAddress.IPv6Loopback, IPAddress.IPv6Loopback));
        Assert.False(OnLink.SameSubnet(null, loopback));

        // An address this host does not have decides nothing; asked again (from the cached interfaces), the same answers.
        Assert.False(OnLink.SameSubnet(IPAddress.Parse("203.0.113.7"), IPAddress.Parse("203.0.113.8")));
        Assert.True(OnLink.SameSubnet(loopback, IPAddress.Parse("127.40.3.9")));

        // Each of the host's own IPv4 addresses is on link with itself.
        foreach (var unicast in NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Where(u => u.Address.AddressFamily == AddressFamily.InterNetwork && u.PrefixLength is > 0 and <= 32))
        {
            Assert.True(OnLink.SameSubnet(unicast.Address, unicast.Address), unicast.Address.ToString());
        }
    }
}
