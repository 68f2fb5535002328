using Streamboot.Testing;
using Streamboot.Vms.Seeds;

namespace Streamboot.Vms.Tests.Seeds;

/// <summary>The password hash goes into /etc/shadow by way of cloud-init: openssl, an implementation nobody here wrote, must agree with it.</summary>
public sealed class PasswordHashTests
{
    [Theory]
    [InlineData("s3cret", "saltsalt")]
    [InlineData("p@ss w0rd with spaces", "./0123456789AbCd")]
    [InlineData("ünïcödé ✓", "x")]
    public async Task Sha512_crypt_matches_openssl_passwd(string password, string salt)
    {
        var ours = PasswordHash.Sha512Crypt(password, salt);
        var openssl = await OpenSslAsync(password, salt);
        Assert.Equal(openssl, ours);
        Assert.StartsWith($"$6${salt}$", ours, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_hash_gets_a_fresh_salt_and_verifies()
    {
        var a = PasswordHash.Sha512Crypt("same");
        var b = PasswordHash.Sha512Crypt("same");
        Assert.NotEqual(a, b);
        var salt = a.Split('$')[2];
        Assert.Equal(16, salt.Length);
        Assert.Equal(await OpenSslAsync("same", salt), a);
    }

    [Fact]
    public void Bad_salts_and_nul_characters_are_refused()
    {
        Assert.Throws<ArgumentException>(() => PasswordHash.Sha512Crypt("x", "bad salt"));
        Assert.Throws<ArgumentException>(() => PasswordHash.Sha512Crypt("x", new string('a', 17)));
        Assert.Throws<ArgumentException>(() => PasswordHash.Sha512Crypt("x\0y", "salt"));
    }

    internal static async Task<string> OpenSslAsync(string password, string salt)
    {
        var openssl = ProcessRunner.Find("openssl", "/usr/bin") ?? throw new InvalidOperationException("openssl is not installed: apt-get install openssl");
        var result = await ProcessRunner.RunAsync(openssl, ["passwd", "-6", "-salt", salt, password]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Trim();
    }
}
