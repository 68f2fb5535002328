namespace Streamboot.Tests;

public class NamesTests
{
    [Theory]
    [InlineData("PC-001")]
    [InlineData("a")]
    [InlineData("lab7")]
    public void Host_names_that_DNS_accepts(string name) => Assert.True(Names.TryValidateHostName(name, out _));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("-pc", "hyphen")]
    [InlineData("pc-", "hyphen")]
    [InlineData("pc_1", "'_'")]
    [InlineData("pc.lab", "'.'")]
    [InlineData("12345", "all digits")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "at most 63")]
    public void Host_names_DNS_refuses(string name, string expected)
    {
        Assert.False(Names.TryValidateHostName(name, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("win11", true)]
    [InlineData("debian-12.5_base", true)]
    [InlineData("_hidden", false)]
    [InlineData("a/b", false)]
    [InlineData("../etc", false)]
    [InlineData("a b", false)]
    public void Object_names_stay_portable(string name, bool valid) =>
        Assert.Equal(valid, Names.TryValidateObjectName("vDisk", name, out _));
}
