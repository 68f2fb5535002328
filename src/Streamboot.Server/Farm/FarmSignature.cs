using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Streamboot.Server.Farm;

/// <summary>
/// How one server of a farm proves to another that it knows the farm's
/// secret, without sending it: <c>Authorization: Streamboot-Farm T:MAC</c>,
/// where T is the Unix time in seconds and MAC the HMAC-SHA256, under the
/// secret, of <c>METHOD PATH T</c>. A MAC opens only that path, for a few
/// minutes either side of T (the servers' clocks are NTP's), so one seen on
/// the wire is worth little. Checked in constant time; every malformed
/// header is simply not proof.
/// </summary>
public static class FarmSignature
{
    public const string Scheme = "Streamboot-Farm";

    /// <summary>How far T may be from the verifier's clock.</summary>
    public static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(5);

    private const int MaxHeaderLength = 128;

    /// <summary>The Authorization header value for <paramref name="method"/> <paramref name="path"/> at <paramref name="now"/>.</summary>
    public static string Sign(ReadOnlySpan<byte> secret, string method, string path, DateTimeOffset now)
    {
        var t = now.ToUnixTimeSeconds();
        return $"{Scheme} {t.ToString(CultureInfo.InvariantCulture)}:{Convert.ToHexStringLower(Mac(secret, method, path, t))}";
    }

    /// <summary>Whether <paramref name="header"/> proves the secret for this method and path now.</summary>
    public static bool Verify(ReadOnlySpan<byte> secret, string method, string path, string? header, DateTimeOffset now)
    {
        if (header is null || header.Length > MaxHeaderLength || !header.StartsWith(Scheme + " ", StringComparison.Ordinal))
        {
            return false;
        }

        var proof = header.AsSpan(Scheme.Length + 1);
        var colon = proof.IndexOf(':');
        if (colon is < 1 or > 12 || proof.Length - colon - 1 != 64)
        {
            return false;
        }

        var time = proof[..colon];
        var mac = proof[(colon + 1)..];
        foreach (var c in time)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        Span<byte> given = stackalloc byte[32];
        if (Convert.FromHexString(mac, given, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return false;
        }

        var t = long.Parse(time, NumberStyles.None, CultureInfo.InvariantCulture);
        if (Math.Abs(now.ToUnixTimeSeconds() - t) > (long)AllowedSkew.TotalSeconds)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(given, Mac(secret, method, path, t));
    }

    private static byte[] Mac(ReadOnlySpan<byte> secret, string method, string path, long t) =>
        HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{method} {path} {t.ToString(CultureInfo.InvariantCulture)}"));
}
