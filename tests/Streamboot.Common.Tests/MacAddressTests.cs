using FsCheck.Xunit;

namespace Streamboot.Tests;

public class MacAddressTests
{
    [Theory]
    [InlineData("52:54:00:12:34:56")]
    [InlineData("52-54-00-12-34-56")]
    [InlineData("525400123456")]
    [InlineData("5254.0012.3456")]
    [InlineData("52:54:00:12:34:56 ")]
    [InlineData("52:54:00:AB:CD:EF")]
    public void Accepted_spellings_parse_to_the_canonical_form(string text)
    {
        Assert.True(MacAddress.TryParse(text, out var mac));
        var expected = text.Contains("AB", StringComparison.Ordinal) ? "52:54:00:ab:cd:ef" : "52:54:00:12:34:56";
        Assert.Equal(expected, mac.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("zz:zz")]
    [InlineData("52:54:00:12:34")]
    [InlineData("52:54:00:12:34:56:78")]
    [InlineData("52:54-00:12:34:56")]
    [InlineData("52::54:00:12:34:56")]
    [InlineData("5254001234567")]
    [InlineData("52:54:00:12:34:5g")]
    [InlineData("525:400:123:456")]
    [InlineData(":52:54:00:12:34:56")]
    public void Malformed_addresses_are_refused(string text)
    {
        Assert.False(MacAddress.TryParse(text, out _));
        var error = Assert.Throws<FormatException>(() => MacAddress.Parse(text));
        Assert.Contains("52:54:00:12:34:56", error.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 500)]
    public bool Bytes_and_text_round_trip(byte a, byte b, byte c, byte d, byte e, byte f)
    {
        byte[] six = [a, b, c, d, e, f];
        var mac = MacAddress.FromBytes(six);
        var back = new byte[6];
        mac.WriteBytes(back);
        return back.AsSpan().SequenceEqual(six) && MacAddress.Parse(mac.ToString()) == mac;
    }

    [Theory]
    [InlineData("ff:ff:ff:ff:ff:ff", "broadcast")]
    [InlineData("00:00:00:00:00:00", "no network card's")]
    [InlineData("01:00:5e:00:00:01", "multicast")]
    [InlineData("33:33:00:00:00:01", "multicast")]
    public void Group_broadcast_and_zero_addresses_are_no_cards(string text, string reason)
    {
        Assert.Contains(reason, MacAddress.Parse(text).WhyNotACard(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("52:54:00:12:34:56")]
    [InlineData("02:00:00:00:00:01")]
    [InlineData("00:1b:21:aa:bb:cc")]
    public void Cards_addresses_are_cards(string text) => Assert.Null(MacAddress.Parse(text).WhyNotACard());
}
