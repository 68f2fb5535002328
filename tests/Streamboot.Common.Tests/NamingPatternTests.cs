namespace Streamboot.Tests;

public class NamingPatternTests
{
    [Fact]
    public void Hashes_become_zero_padded_numbers()
    {
        Assert.True(NamingPattern.TryParse("LAB-###", out var pattern, out _));
        Assert.Equal("LAB-001", pattern.Format(1));
        Assert.Equal("LAB-999", pattern.Format(999));
        Assert.Equal(999, pattern.MaxNumber);
        Assert.Throws<ArgumentOutOfRangeException>(() => pattern.Format(1000));
    }

    [Fact]
    public void Digits_may_sit_inside_the_name()
    {
        Assert.True(NamingPattern.TryParse("R1-##-PC", out var pattern, out _));
        Assert.Equal("R1-07-PC", pattern.Format(7));
        Assert.True(pattern.TryMatch("r1-42-pc", out var n));
        Assert.Equal(42, n);
    }

    [Theory]
    [InlineData("LAB-001", true, 1)]
    [InlineData("lab-120", true, 120)]
    [InlineData("LAB-01", false, 0)]
    [InlineData("LAB-0001", false, 0)]
    [InlineData("LAB-000", false, 0)]
    [InlineData("LAB-abc", false, 0)]
    [InlineData("OFFICE-001", false, 0)]
    public void Names_match_their_pattern(string name, bool matches, long number)
    {
        Assert.True(NamingPattern.TryParse("LAB-###", out var pattern, out _));
        Assert.Equal(matches, pattern.TryMatch(name, out var n));
        Assert.Equal(number, n);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("LAB", "no '#'")]
    [InlineData("L#B-##", "more than one run")]
    [InlineData("LAB_###", "invalid names")]
    [InlineData("-###", "invalid names")]
    [InlineData("##########", "at most 9")]
    public void Bad_patterns_are_refused(string text, string expected)
    {
        Assert.False(NamingPattern.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
