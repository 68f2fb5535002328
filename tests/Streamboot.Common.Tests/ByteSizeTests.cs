namespace Streamboot.Tests;

public class ByteSizeTests
{
    [Theory]
    [InlineData("512M", 512L << 20)]
    [InlineData("20G", 20L << 30)]
    [InlineData("20GiB", 20L << 30)]
    [InlineData("20gb", 20L << 30)]
    [InlineData("1T", 1L << 40)]
    [InlineData("1.5G", 3L << 29)]
    [InlineData("4096", 4096)]
    [InlineData("4096B", 4096)]
    [InlineData("64k", 64 * 1024)]
    [InlineData("9P", 9L << 50)]
    [InlineData("7E", 7L << 60)]
    [InlineData("0.5K", 512)]
    public void Sizes_parse_in_binary_units(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes, out var error), error);
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("12Q", "unknown unit 'Q'")]
    [InlineData("", "required")]
    [InlineData("G", "not a size")]
    [InlineData("-5G", "not a size")]
    [InlineData("1.0000001K", "whole number")]
    [InlineData("99999999E", "too large")]
    [InlineData("8E", "too large")]
    [InlineData("1.2.3G", "not a size")]
    [InlineData("1e3M", "not a size")]
    [InlineData(".G", "not a size")]
    public void Bad_sizes_say_what_is_wrong(string text, string expected)
    {
        Assert.False(ByteSize.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(20L << 30, "20 GiB")]
    [InlineData(500L << 30, "500 GiB")]
    public void Sizes_format_for_people(long bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));
}
