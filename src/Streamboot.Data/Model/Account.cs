namespace Streamboot.Data.Model;

/// <summary>An admin who signs in to the web console with a password (kept as a PBKDF2 hash).</summary>
public sealed class Account
{
    public long Id { get; set; }

    public required string Name { get; set; }

    /// <summary><c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c> (base64).</summary>
    public required string PasswordHash { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime PasswordSetAt { get; set; }
}
