using System.Net;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Tests.Boot;

public sealed class DefaultDhcpBootPolicyTests
{
    private static DhcpBootRequest Request(DhcpClientArchitecture? arch, bool ipxe = false) => new()
    {
        Mac = MacAddress.Parse("02:00:00:00:00:01"),
        Architecture = arch,
        IsIpxe = ipxe,
        ServerAddress = IPAddress.Parse("10.0.0.1"),
    };

    [Theory]
    [InlineData(DhcpClientArchitecture.IntelX86Pc, "undionly.kpxe")]
    [InlineData(DhcpClientArchitecture.EfiBc, "ipxe.efi")]
    [InlineData(DhcpClientArchitecture.EfiX8664, "ipxe.efi")]
    [InlineData(DhcpClientArchitecture.EfiIa32, null)]
    [InlineData(DhcpClientArchitecture.EfiArm64, null)]
    [InlineData(null, null)]
    public void Each_architecture_gets_its_file(DhcpClientArchitecture? arch, string? expected) =>
        Assert.Equal(expected, new DefaultDhcpBootPolicy().Decide(Request(arch)).BootFile);

    [Fact]
    public void Ipxe_gets_the_url_with_the_server_filled_in_whatever_its_architecture() =>
        Assert.Equal("http://10.0.0.1/boot.ipxe", new DefaultDhcpBootPolicy().Decide(Request(DhcpClientArchitecture.EfiIa32, ipxe: true)).BootFile);

    [Fact]
    public void The_url_may_name_the_clients_mac_and_keeps_ipxes_own_settings_for_ipxe_to_expand() =>
        Assert.Equal(
            "http://10.0.0.1:8080/boot.ipxe?mac=02:00:00:00:00:01&uuid=${uuid}",
            new DefaultDhcpBootPolicy(new DefaultDhcpBootPolicyOptions { IpxeScriptUrl = "http://{server}:8080/boot.ipxe?mac={mac}&uuid=${uuid}" })
                .Decide(Request(DhcpClientArchitecture.EfiX8664, ipxe: true)).BootFile);

    [Fact]
    public void Ia32_efi_boots_when_a_file_is_named() =>
        Assert.Equal("ipxe-i386.efi", new DefaultDhcpBootPolicy(new DefaultDhcpBootPolicyOptions { EfiIa32BootFile = "ipxe-i386.efi" }).Decide(Request(DhcpClientArchitecture.EfiIa32)).BootFile);
}
