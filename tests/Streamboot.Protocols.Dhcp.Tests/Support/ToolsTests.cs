namespace Streamboot.Protocols.Dhcp.Tests.Support;

public sealed class ToolsTests
{
    [Fact]
    public void A_missing_tool_fails_the_test_and_names_its_debian_package()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Tools.Path("streamboot-no-such-tool", "some-debian-package"));
        Assert.Contains("install Debian's 'some-debian-package' package", error.Message, StringComparison.Ordinal);
    }
}
