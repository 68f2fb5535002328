using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin.Access;

/// <summary>A token as the admin sees it: never its secret.</summary>
public sealed record TokenView(string Name, ApiScope Scope, DateTime CreatedAt, string CreatedBy, DateTime? LastUsedAt);

/// <summary>A token just made: its secret, shown this once.</summary>
public sealed record NewToken(TokenView Token, string Secret);

/// <summary>An admin account as others see it: never its password or hash.</summary>
public sealed record AccountView(string Name, DateTime CreatedAt, DateTime PasswordSetAt);

/// <summary>Who a request comes from, once its credentials checked out.</summary>
public sealed record Caller(string Actor, ApiScope Scope);

/// <summary>
/// Who may run the site from afar: API tokens (bearer secrets, read-only or
/// admin, stored as SHA-256 hashes) and admin accounts (passwords stored as
/// PBKDF2 hashes). The command line and the API make and revoke them
/// through this one class; every change goes to the audit log.
/// </summary>
public sealed class AccessAdmin(AdminSite site) : ITokenAdmin
{
    /// <summary>The first admin account's name.</summary>
    public const string FirstAdmin = "admin";

    private const string TokenPrefix = "sbt_";
    private const int PasswordIterations = 600_000; // OWASP's figure for PBKDF2-HMAC-SHA256
    private static readonly TimeSpan s_lastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<AdminResult<NewToken>> CreateTokenAsync(string name, string scope, CancellationToken cancellationToken = default)
    {
        if (!Names.TryValidateObjectName("token", name, out var nameError))
        {
            return AdminError.Invalid(nameError);
        }

        if (!TryParseScope(scope, out var parsed))
        {
            return AdminError.Invalid($"'{scope}' is not a token scope; use read (look only) or admin (change too)");
        }

        var secret = TokenPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        await using var db = site.Database.CreateContext();
        var row = new ApiToken { Name = name, SecretHash = Hash(secret), Scope = parsed, CreatedAt = site.UtcNow, CreatedBy = site.Actor };
        db.ApiTokens.Add(row);
        site.Audit(db, "token.create", name, new { scope = KebabCase.Of(parsed) });
        return await Persist.SaveAsync(db, _ => $"a token named '{name}' already exists; 'streamboot token revoke {name}' removes it", cancellationToken) is { } error
            ? error
            : new NewToken(View(row), secret);
    }

    public async Task<IReadOnlyList<TokenView>> ListTokensAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var rows = await db.ApiTokens.AsNoTracking().Where(t => t.RevokedAt == null).OrderBy(t => t.Name).ToListAsync(cancellationToken);
        return [.. rows.Select(View)];
    }

    async Task<AdminResult<IReadOnlyList<TokenView>>> ITokenAdmin.ListTokensAsync(CancellationToken cancellationToken) =>
        AdminResult.Of(await ListTokensAsync(cancellationToken));

    /// <summary>Revokes the token: it stops working at once, on every server of the site.</summary>
    public async Task<AdminResult<TokenView>> RevokeTokenAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var lower = name.ToLowerInvariant();
        var row = await db.ApiTokens.FirstOrDefaultAsync(t => t.Name.ToLower() == lower, cancellationToken);
        if (row is null)
        {
            return AdminError.NotFound($"there is no token named '{ClientText.ForLog(name, 64)}'; 'streamboot token list' shows them");
        }

        db.ApiTokens.Remove(row);
        site.Audit(db, "token.revoke", row.Name);
        await db.SaveChangesAsync(cancellationToken);
        return View(row);
    }

    /// <summary>The caller a bearer secret stands for, or null (unknown, revoked, malformed).</summary>
    public async Task<Caller?> AuthenticateTokenAsync(string secret, CancellationToken cancellationToken = default)
    {
        if (!secret.StartsWith(TokenPrefix, StringComparison.Ordinal) || secret.Length > 128)
        {
            return null;
        }

        var hash = Hash(secret);
        await using var db = site.Database.CreateContext();
        var row = await db.ApiTokens.AsNoTracking().FirstOrDefaultAsync(t => t.SecretHash == hash && t.RevokedAt == null, cancellationToken);
        if (row is null)
        {
            return null;
        }

        var now = site.UtcNow;
        if (row.LastUsedAt is not { } used || now - used >= s_lastUsedResolution)
        {
            using var turn = await site.Database.WriteTurnAsync(cancellationToken);
            await db.ApiTokens.Where(t => t.Id == row.Id).ExecuteUpdateAsync(u => u.SetProperty(t => t.LastUsedAt, now), cancellationToken);
        }

        return new Caller("token:" + row.Name, row.Scope);
    }

    /// <summary>
    /// Makes the first admin account when the site has none: with the
    /// password given, or a new random one, returned to be shown once.
    /// Null when an account exists already.
    /// </summary>
    public async Task<AdminResult<string?>> EnsureFirstAdminAsync(string? password, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        if (await db.Accounts.AnyAsync(cancellationToken))
        {
            return (string?)null;
        }

        password ??= Base64Url(RandomNumberGenerator.GetBytes(18));
        if (PasswordProblem(password) is { } problem)
        {
            return AdminError.Invalid(problem);
        }

        db.Accounts.Add(new Account { Name = FirstAdmin, PasswordHash = HashPassword(password), CreatedAt = site.UtcNow, PasswordSetAt = site.UtcNow });
        site.Audit(db, "account.create", FirstAdmin);
        // Two servers starting at once: the unique name lets one of them make it.
        return await Persist.SaveAsync(db, _ => "the first admin account was made by another server at the same moment", cancellationToken) is { } error
            ? error.Kind == AdminErrorKind.Conflict ? (string?)null : error
            : password;
    }

    /// <summary>What is wrong with an account's name or password, or null.</summary>
    private static AdminError? AccountProblem(string name, string password) =>
        !Names.TryValidateObjectName("account", name, out var nameError) ? AdminError.Invalid(nameError)
        : PasswordProblem(password) is { } problem ? AdminError.Invalid(problem)
        : null;

    /// <summary>Sets an account's password (made when it does not exist).</summary>
    public async Task<AdminResult<string>> SetPasswordAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        if (AccountProblem(name, password) is { } invalid)
        {
            return invalid;
        }

        await using var db = site.Database.CreateContext();
        var lower = name.ToLowerInvariant();
        var row = await db.Accounts.FirstOrDefaultAsync(a => a.Name.ToLower() == lower, cancellationToken);
        if (row is null)
        {
            row = new Account { Name = name, PasswordHash = "", CreatedAt = site.UtcNow };
            db.Accounts.Add(row);
        }

        row.PasswordHash = HashPassword(password);
        row.PasswordSetAt = site.UtcNow;
        site.Audit(db, "account.password", row.Name);
        return await Persist.SaveAsync(db, _ => $"an account named '{name}' was just made by another admin; try again", cancellationToken) is { } error
            ? error
            : row.Name;
    }

    /// <summary>A new admin account; refused when the name is taken (its password is its owner's to change).</summary>
    public async Task<AdminResult<string>> AddAccountAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        name = name.Trim();
        if (AccountProblem(name, password) is { } invalid)
        {
            return invalid;
        }

        await using var db = site.Database.CreateContext();
        var lower = name.ToLowerInvariant();
        if (await db.Accounts.AnyAsync(a => a.Name.ToLower() == lower, cancellationToken))
        {
            return AdminError.Conflict($"an account named '{name}' already exists; its owner changes its password, or 'streamboot account password {name}' at the server sets it");
        }

        db.Accounts.Add(new Account { Name = name, PasswordHash = HashPassword(password), CreatedAt = site.UtcNow, PasswordSetAt = site.UtcNow });
        site.Audit(db, "account.create", name);
        return await Persist.SaveAsync(db, _ => $"an account named '{name}' was just made by another admin", cancellationToken) is { } error
            ? error
            : name;
    }

    /// <summary>An account's owner changes its password: the current one must be right (a session left open does not hand the account over).</summary>
    public async Task<AdminResult<string>> ChangePasswordAsync(string name, string current, string password, CancellationToken cancellationToken = default)
    {
        if (await AuthenticatePasswordAsync(name, current, cancellationToken) is null)
        {
            return AdminError.Refused("the current password is wrong; nothing was changed");
        }

        return await SetPasswordAsync(name, password, cancellationToken);
    }

    public async Task<IReadOnlyList<AccountView>> ListAccountsAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var rows = await db.Accounts.AsNoTracking().OrderBy(a => a.Name).ToListAsync(cancellationToken);
        return [.. rows.Select(a => new AccountView(a.Name, a.CreatedAt, a.PasswordSetAt))];
    }

    /// <summary>The caller an account name and password stand for, or null; the time taken does not say which was wrong.</summary>
    public async Task<Caller?> AuthenticatePasswordAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        if (name.Length > 64 || password.Length > 1024)
        {
            return null;
        }

        await using var db = site.Database.CreateContext();
        var lower = name.ToLowerInvariant();
        var row = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Name.ToLower() == lower, cancellationToken);
        // An unknown name costs a hash too: its answer comes as late as a wrong password's.
        var ok = VerifyPassword(password, row?.PasswordHash ?? s_dummyHash.Value) && row is not null;
        return ok ? new Caller("account:" + row!.Name, ApiScope.Admin) : null;
    }

    public static bool TryParseScope(string? text, out ApiScope scope)
    {
        scope = ApiScope.Read;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "read":
                return true;
            case "admin":
                scope = ApiScope.Admin;
                return true;
            default:
                return false;
        }
    }

    private static readonly Lazy<string> s_dummyHash = new(() => HashPassword(Base64Url(RandomNumberGenerator.GetBytes(18))));

    private static string? PasswordProblem(string password) =>
        password.Length < 12 ? "a password needs at least 12 characters"
        : password.Length > 1024 ? "a password has at most 1024 characters"
        : null;

    private static string HashPassword(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, PasswordIterations, HashAlgorithmName.SHA256, 32);
        return $"pbkdf2-sha256${PasswordIterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    private static bool VerifyPassword(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != "pbkdf2-sha256" || !int.TryParse(parts[1], out var iterations) || iterations < 1)
        {
            return false;
        }

        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static TokenView View(ApiToken t) => new(t.Name, t.Scope, t.CreatedAt, t.CreatedBy, t.LastUsedAt);
}
