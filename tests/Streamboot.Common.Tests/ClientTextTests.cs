namespace Streamboot.Tests;

public class ClientTextTests
{
    [Theory]
    [InlineData("undionly.kpxe")]
    [InlineData("/boot/pxelinux.cfg/01-02-5b-00-00-00-01")]
    [InlineData("PXEClient:Arch:00007:UNDI:003016")]
    [InlineData("café-Überraschung")]
    [InlineData("emoji \U0001F600 pair")]
    public void Plain_text_comes_back_as_the_same_string(string text) => Assert.Same(text, ClientText.ForLog(text));

    [Theory]
    [InlineData("a\nTFTP forged line", "a\\x0aTFTP forged line")]
    [InlineData("a\r\nb", "a\\x0d\\x0ab")]
    [InlineData("\u001b[31mred\u001b[0m", "\\x1b[31mred\\x1b[0m")]
    [InlineData("tab\there", "tab\\x09here")]
    [InlineData("nul\0", "nul\\x00")]
    [InlineData("del\u007f c1\u009b", "del\\x7f c1\\x9b")]
    [InlineData("abc\u202Egpj.exe", "abc\\u202egpj.exe")]
    [InlineData("zero\u200Bwidth", "zero\\u200bwidth")]
    [InlineData("line\u2028sep", "line\\u2028sep")]
    public void Control_and_format_characters_are_escaped(string text, string expected) =>
        Assert.Equal(expected, ClientText.ForLog(text));

    [Fact]
    public void Lone_surrogates_are_escaped()
    {
        // Built here: xunit's test case serialization would mangle them as inline data.
        Assert.Equal("lone \\ud800 surrogate", ClientText.ForLog("lone " + (char)0xd800 + " surrogate"));
        Assert.Equal("lone \\udc00", ClientText.ForLog("lone " + (char)0xdc00));
    }

    [Fact]
    public void Long_text_is_cut_and_says_how_much_was_left_out()
    {
        var text = new string('a', 5000);
        var logged = ClientText.ForLog(text);
        Assert.StartsWith(new string('a', ClientText.DefaultMaxLength), logged, StringComparison.Ordinal);
        Assert.EndsWith($"...(+{5000 - ClientText.DefaultMaxLength} chars)", logged, StringComparison.Ordinal);
        Assert.True(logged.Length < ClientText.DefaultMaxLength + 20);
    }

    [Fact]
    public void Escapes_count_toward_the_length_so_a_line_of_controls_stays_short()
    {
        var logged = ClientText.ForLog(new string('\n', 10_000), 32);
        Assert.True(logged.Length < 32 + 4 + 20, logged);
        Assert.DoesNotContain('\n', logged);
        Assert.Contains("chars)", logged, StringComparison.Ordinal);
    }

    [Fact]
    public void A_surrogate_pair_at_the_cut_stays_whole()
    {
        var logged = ClientText.ForLog("abc\U0001F600def", 4);
        Assert.StartsWith("abc\U0001F600", logged, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_read_as_latin1_are_escaped_and_cut_before_decoding_everything()
    {
        Assert.Equal("PXEClient\\x0a\\x85", ClientText.ForLog([.. "PXEClient"u8, 0x0a, 0x85]));
        var logged = ClientText.ForLog(new byte[65_000], 16);
        Assert.EndsWith($"...(+{65_000 - 16} bytes)", logged, StringComparison.Ordinal);
        Assert.StartsWith("\\x00\\x00", logged, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_is_empty() => Assert.Equal("", ClientText.ForLog((string?)null));
}
