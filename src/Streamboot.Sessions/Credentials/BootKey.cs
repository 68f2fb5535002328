using System.Security.Cryptography;
using System.Text;

namespace Streamboot.Sessions.Credentials;

/// <summary>
/// A boot's secret: 128 random bits from the system's CSPRNG, written as 32
/// lower-case hex digits so it travels unquoted on a kernel command line,
/// in a URL path and in an NBD export name.
/// </summary>
public static class BootKey
{
    public const int Length = 32;

    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(Length / 2));

    /// <summary>Whether text has a key's form (says nothing about whose it is).</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        if (text.Length != Length)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// What stands for the key where it would be seen by everyone on the
    /// client: GRUB puts a kernel's path on the kernel command line
    /// (<c>BOOT_IMAGE=</c>), readable in /proc/cmdline, so a kernel fetched
    /// over TFTP is named by this instead. It proves the key's holder asked
    /// (a hash of the key, 128 bits, same form) and opens nothing else.
    /// </summary>
    public static string FileToken(string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes("streamboot boot files " + key)))[..Length];

    /// <summary>
    /// Whether <paramref name="presented"/> is <paramref name="stored"/>, in
    /// time that does not depend on where they differ: a client timing
    /// refusals learns nothing about a key's digits.
    /// </summary>
    public static bool Matches(string stored, string presented)
    {
        Span<byte> a = stackalloc byte[Length];
        Span<byte> b = stackalloc byte[Length];
        if (stored.Length != Length || presented.Length != Length)
        {
            return false;
        }

        Encoding.ASCII.GetBytes(stored, a);
        Encoding.ASCII.GetBytes(presented, b);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }
}
