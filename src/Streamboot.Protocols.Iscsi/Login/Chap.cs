using System.Security.Cryptography;
using System.Text;

namespace Streamboot.Protocols.Iscsi.Login;

/// <summary>
/// CHAP with MD5 (RFC 1994; iSCSI's use of it, RFC 7143 12.1.3): the
/// response to identifier I and challenge C is MD5(I || secret || C).
/// Binary values travel as 0x-hex or 0b-base64 (6.1).
/// </summary>
internal static class Chap
{
    /// <summary>Challenge bytes this target sends: 16, what iPXE, open-iscsi and Windows all take.</summary>
    public const int ChallengeLength = 16;

    /// <summary>The longest CHAP_C or CHAP_R accepted from an initiator (RFC 7143 12.1.3 allows up to 1024).</summary>
    public const int MaxBinaryLength = 1024;

    public const int ResponseLength = 16;

    public static byte[] NewChallenge() => RandomNumberGenerator.GetBytes(ChallengeLength);

    public static byte NewIdentifier() => RandomNumberGenerator.GetBytes(1)[0];

    public static byte[] Response(byte identifier, string secret, ReadOnlySpan<byte> challenge)
    {
        var secretBytes = Encoding.UTF8.GetBytes(secret);
        var input = new byte[1 + secretBytes.Length + challenge.Length];
        input[0] = identifier;
        secretBytes.CopyTo(input, 1);
        challenge.CopyTo(input.AsSpan(1 + secretBytes.Length));
        var hash = MD5.HashData(input);
        CryptographicOperations.ZeroMemory(secretBytes);
        CryptographicOperations.ZeroMemory(input);
        return hash;
    }

    /// <summary>Whether <paramref name="response"/> is the answer of <paramref name="secret"/>, in time that does not depend on where they differ.</summary>
    public static bool Proves(byte identifier, string secret, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> response) =>
        response.Length == ResponseLength && CryptographicOperations.FixedTimeEquals(Response(identifier, secret, challenge), response);

    public static string Format(ReadOnlySpan<byte> value) => "0x" + Convert.ToHexStringLower(value);

    /// <summary>A binary value (0x hex or 0b base64); false for anything else or anything over the limit.</summary>
    public static bool TryParseBinary(string? text, out byte[] value)
    {
        value = [];
        if (text is null || text.Length < 3 || text.Length > 2 + (2 * MaxBinaryLength))
        {
            return false;
        }

        try
        {
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                var hex = text[2..];
                value = Convert.FromHexString(hex.Length % 2 == 1 ? "0" + hex : hex);
                return value.Length <= MaxBinaryLength;
            }

            if (text.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
            {
                value = Convert.FromBase64String(text[2..]);
                return value.Length <= MaxBinaryLength;
            }
        }
        catch (FormatException)
        {
        }

        return false;
    }
}
