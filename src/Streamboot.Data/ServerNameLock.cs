using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Streamboot.Data;

/// <summary>
/// A server's hold on its name for as long as it runs: its row in the
/// servers table is written by nobody else, and a second server under the
/// same name is refused instead of overwriting the row and ending the
/// first one's sessions as if it had crashed. The operating system lets
/// go when the process dies, so a crashed server restarts under its name
/// at once: a session-level advisory lock on PostgreSQL (its connection
/// closes with the process), an exclusive lock file beside a SQLite
/// database (flock, dropped with the process's files).
/// </summary>
public sealed class ServerNameLock : IAsyncDisposable
{
    // pg_advisory_lock(int, int): this class id keeps clear of the migration lock's one-bigint key space.
    private const int PostgresClassId = 0x5362_5356; // "SbSV"
    private readonly NpgsqlConnection? _connection;
    private readonly FileStream? _file;

    private ServerNameLock(NpgsqlConnection? connection, FileStream? file)
    {
        _connection = connection;
        _file = file;
    }

    /// <summary>The lock on <paramref name="name"/> (names compare without case), or null when a running server holds it.</summary>
    public static async Task<ServerNameLock?> TryAcquireAsync(DatabaseLocation location, string name, CancellationToken cancellationToken)
    {
        var key = Fnv1a(name.ToLowerInvariant());
        if (location.Provider == DatabaseProvider.PostgreSql)
        {
            var connection = new NpgsqlConnection(location.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({PostgresClassId}, {unchecked((int)key)})", connection);
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                return new ServerNameLock(connection, null);
            }

            await connection.DisposeAsync();
            return null;
        }

        var path = $"{new SqliteConnectionStringBuilder(location.ConnectionString).DataSource}.server-{key:x8}.lock";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            // FileShare.None takes an exclusive flock on Unix.
            return new ServerNameLock(null, new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            // Closing the session releases its advisory locks.
            await _connection.DisposeAsync();
        }

        if (_file is not null)
        {
            await _file.DisposeAsync();
        }
    }

    /// <summary>A hash that is the same in every process (string.GetHashCode is not).</summary>
    private static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash = unchecked((hash ^ b) * 16777619u);
        }

        return hash;
    }
}
