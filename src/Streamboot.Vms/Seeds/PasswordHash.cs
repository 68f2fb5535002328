using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Streamboot.Vms.Seeds;

/// <summary>
/// Password hashes in crypt(3) form, as /etc/shadow and cloud-init's
/// <c>passwd</c> take them. SHA-512 crypt (<c>$6$</c>) because every Linux
/// libc verifies it (yescrypt is newer than some guests). The hashing is the
/// system's libcrypt (libxcrypt on Debian), not ours: a password hash is not
/// a place for home-made cryptography.
/// </summary>
public static partial class PasswordHash
{
    // crypt(5): salt characters are [./0-9A-Za-z]; SHA-512 crypt uses up to 16.
    private const string SaltAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    // sizeof(struct crypt_data) is 32768 in libxcrypt; crypt_rn checks the size it is given.
    private const int CryptDataSize = 64 * 1024;

    /// <summary>The SHA-512 crypt hash of <paramref name="password"/> with a fresh random salt.</summary>
    public static string Sha512Crypt(string password) => Sha512Crypt(password, RandomSalt(16));

    /// <summary>The SHA-512 crypt hash with a given salt (for tests against other implementations).</summary>
    public static unsafe string Sha512Crypt(string password, string salt)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (salt.Length is 0 or > 16 || salt.Any(c => !SaltAlphabet.Contains(c)))
        {
            throw new ArgumentException("A SHA-512 crypt salt is 1 to 16 characters of [./0-9A-Za-z].", nameof(salt));
        }

        if (password.Contains('\0'))
        {
            throw new ArgumentException("A password cannot contain a NUL character.", nameof(password));
        }

        var data = NativeMemory.AllocZeroed(CryptDataSize);
        try
        {
            var result = crypt_rn(password, "$6$" + salt, data, CryptDataSize);
            var hash = result == 0 ? null : Marshal.PtrToStringUTF8(result);
            if (hash is null || !hash.StartsWith("$6$", StringComparison.Ordinal))
            {
                throw new CryptographicException($"libcrypt could not hash the password (errno {Marshal.GetLastPInvokeError()})");
            }

            return hash;
        }
        catch (DllNotFoundException e)
        {
            throw new CryptographicException("libcrypt.so.1 is missing: apt-get install libcrypt1", e);
        }
        finally
        {
            // The buffer held the password's working state.
            NativeMemory.Clear(data, CryptDataSize);
            NativeMemory.Free(data);
        }
    }

    private static string RandomSalt(int length)
    {
        var salt = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            salt.Append(SaltAlphabet[RandomNumberGenerator.GetInt32(SaltAlphabet.Length)]);
        }

        return salt.ToString();
    }

    [LibraryImport("libcrypt.so.1", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial nint crypt_rn(string phrase, string setting, void* data, int size);
}
