using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Streamboot.Data;

public enum DatabaseProvider
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// Which database the site lives in: the embedded SQLite file in the data
/// folder by default, or what <c>--db</c> names (a SQLite file, or a
/// PostgreSQL connection string or URL for a farm).
/// </summary>
public sealed record DatabaseLocation(DatabaseProvider Provider, string ConnectionString)
{
    public const string DefaultFileName = "streamboot.db";

    public static DatabaseLocation InDataFolder(string dataFolder) =>
        ForSqliteFile(Path.Combine(dataFolder, DefaultFileName));

    public static DatabaseLocation ForSqliteFile(string path) =>
        new(DatabaseProvider.Sqlite, new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(path),
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            // Seconds to wait on a lock another process (the server, another admin) holds.
            DefaultTimeout = 30,
        }.ToString());

    /// <summary>
    /// Accepts <c>postgresql://user:pass@host:port/db</c>, an Npgsql
    /// connection string (<c>Host=...;Database=...</c>), or a path to a SQLite
    /// file (<c>/srv/streamboot.db</c>, <c>sqlite:/srv/streamboot.db</c>).
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out DatabaseLocation? location, [NotNullWhen(false)] out string? error)
    {
        location = null;
        error = null;
        var s = text?.Trim() ?? "";
        if (s.Length == 0)
        {
            error = "--db is empty; give a PostgreSQL URL (postgresql://user@host/db) or a SQLite file path";
            return false;
        }

        if (s.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
            s.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return TryParsePostgresUrl(s, out location, out error);
        }

        if (s.Contains("Host=", StringComparison.OrdinalIgnoreCase) || s.Contains("Server=", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(s);
                location = new DatabaseLocation(DatabaseProvider.PostgreSql, builder.ConnectionString);
                return true;
            }
            catch (ArgumentException e)
            {
                error = $"--db is not a valid PostgreSQL connection string: {e.Message}";
                return false;
            }
        }

        if (s.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            s = s["sqlite:".Length..];
        }
        else if (UrlScheme(s) is { } scheme)
        {
            // A URL of another kind (mysql://, a typo) is no file path: never make a file named after it.
            error = $"--db '{text}' has an unknown scheme '{scheme}:'; give postgresql://user:password@host:5432/db, an Npgsql connection string (Host=...;Database=...), or a SQLite file path";
            return false;
        }

        if (s.Contains(';', StringComparison.Ordinal) || s.Contains('=', StringComparison.Ordinal))
        {
            error = $"--db '{text}' is neither a PostgreSQL connection string (Host=...;Database=...) nor a file path";
            return false;
        }

        location = ForSqliteFile(s);
        return true;
    }

    /// <summary>The scheme of <c>scheme://...</c>, or null when the text is no URL.</summary>
    private static string? UrlScheme(string text)
    {
        var colon = text.IndexOf("://", StringComparison.Ordinal);
        return colon > 0 && char.IsAsciiLetter(text[0]) && text[..colon].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.')
            ? text[..colon]
            : null;
    }

    private static bool TryParsePostgresUrl(string s, [NotNullWhen(true)] out DatabaseLocation? location, [NotNullWhen(false)] out string? error)
    {
        location = null;
        error = null;
        if (!Uri.TryCreate(s, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            error = $"--db '{s}' is not a valid URL; write postgresql://user:password@host:5432/database";
            return false;
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port > 0 ? uri.Port : 5432,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "streamboot",
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        location = new DatabaseLocation(DatabaseProvider.PostgreSql, builder.ConnectionString);
        return true;
    }

    /// <summary>Where the database is, for messages: never includes a password.</summary>
    public string Describe()
    {
        if (Provider == DatabaseProvider.Sqlite)
        {
            return "SQLite " + new SqliteConnectionStringBuilder(ConnectionString).DataSource;
        }

        var b = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"PostgreSQL {b.Username}@{b.Host}:{b.Port}/{b.Database}";
    }

    public override string ToString() => Describe();
}
