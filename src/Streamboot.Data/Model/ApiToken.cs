namespace Streamboot.Data.Model;

/// <summary>
/// A bearer token for the admin API. Only the SHA-256 of its secret is kept:
/// the secret is shown once, when the token is made.
/// </summary>
public sealed class ApiToken
{
    public long Id { get; set; }

    public required string Name { get; set; }

    /// <summary>Lower-case hex SHA-256 of the whole token text.</summary>
    public required string SecretHash { get; set; }

    public ApiScope Scope { get; set; }

    public DateTime CreatedAt { get; set; }

    public required string CreatedBy { get; set; }

    /// <summary>Updated at most once a minute, so reads do not turn into writes.</summary>
    public DateTime? LastUsedAt { get; set; }

    public DateTime? RevokedAt { get; set; }
}
