using System.Security.Cryptography;
using Streamboot.Server.Farm;

namespace Streamboot.Server.Tests.Farm;

/// <summary>The farm's request signature: only the secret, the method, the path and a recent time make one.</summary>
public sealed class FarmSignatureTests
{
    private static readonly byte[] s_secret = RandomNumberGenerator.GetBytes(32);
    private static readonly DateTimeOffset s_now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private const string Path = "/farm/versions/42";

    [Fact]
    public void A_signature_proves_the_secret_for_its_path_and_time_only()
    {
        var header = FarmSignature.Sign(s_secret, "GET", Path, s_now);

        Assert.True(FarmSignature.Verify(s_secret, "GET", Path, header, s_now));
        Assert.True(FarmSignature.Verify(s_secret, "GET", Path, header, s_now + TimeSpan.FromMinutes(4)));
        Assert.False(FarmSignature.Verify(s_secret, "GET", Path, header, s_now + TimeSpan.FromMinutes(6)));
        Assert.False(FarmSignature.Verify(s_secret, "GET", Path, header, s_now - TimeSpan.FromMinutes(6)));
        Assert.False(FarmSignature.Verify(s_secret, "GET", "/farm/versions/43", header, s_now));
        Assert.False(FarmSignature.Verify(s_secret, "HEAD", Path, header, s_now));
        Assert.False(FarmSignature.Verify(RandomNumberGenerator.GetBytes(32), "GET", Path, header, s_now));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer abc")]
    [InlineData("Streamboot-Farm")]
    [InlineData("Streamboot-Farm :")]
    [InlineData("Streamboot-Farm 1765022400")]
    [InlineData("Streamboot-Farm 1765022400:")]
    [InlineData("Streamboot-Farm -1765022400:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("Streamboot-Farm 1765022400:zz00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("Streamboot-Farm 1765022400:00000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("Streamboot-Farm 99999999999999:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("streamboot-farm 1765022400:0000000000000000000000000000000000000000000000000000000000000000")]
    public void Malformed_headers_are_no_proof(string? header) =>
        Assert.False(FarmSignature.Verify(s_secret, "GET", Path, header, s_now));

    [Fact]
    public void A_long_header_is_refused_before_it_is_parsed() =>
        Assert.False(FarmSignature.Verify(s_secret, "GET", Path, FarmSignature.Sign(s_secret, "GET", Path, s_now) + new string(' ', 200), s_now));
}
