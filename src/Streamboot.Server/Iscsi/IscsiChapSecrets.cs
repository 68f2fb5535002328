using System.Security.Cryptography;
using System.Text;

namespace Streamboot.Server.Iscsi;

/// <summary>
/// The CHAP secrets of a boot, derived from its key: what the boot script
/// hands iPXE (username DEVICE, password the initiator secret; mutual CHAP's
/// reverse-password the target secret), and what the target checks CHAP
/// responses with. Two different secrets, as RFC 7143 12.1.3 requires for
/// the two directions. 16 characters of [A-Za-z0-9] (95 bits): Microsoft's
/// initiator takes CHAP secrets of 12 to 16 characters only, and iPXE
/// settings carry them unquoted. Never logged.
/// </summary>
public static class IscsiChapSecrets
{
    public const int Length = 16;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>The secret the initiator answers the target's challenge with.</summary>
    public static string Initiator(string key) => Derive(key, "streamboot iscsi initiator secret");

    /// <summary>The secret the target answers the initiator's challenge with (mutual CHAP).</summary>
    public static string Target(string key) => Derive(key, "streamboot iscsi target secret");

    private static string Derive(string key, string purpose)
    {
        var keyBytes = Encoding.ASCII.GetBytes(key);
        var hash = HMACSHA256.HashData(keyBytes, Encoding.ASCII.GetBytes(purpose));
        CryptographicOperations.ZeroMemory(keyBytes);
        var secret = new char[Length];
        for (var i = 0; i < Length; i++)
        {
            // 256 is not a multiple of 62; the bias this leaves is below a bit in total.
            secret[i] = Alphabet[hash[i] % Alphabet.Length];
        }

        CryptographicOperations.ZeroMemory(hash);
        return new string(secret);
    }
}
