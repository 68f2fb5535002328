using System.Data.Common;
using System.Reflection;
using FluentMigrator;
using FluentMigrator.Runner;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streamboot.Data.Migrations;

namespace Streamboot.Data;

/// <summary>
/// An opened, migrated site database. Opening applies pending migrations
/// under a lock, so two servers (or a server and an admin's command) that
/// start together on one database migrate it once.
/// </summary>
public sealed class SiteDatabase
{
    private readonly DbContextOptions<StreambootDbContext> _options;

    private SiteDatabase(DatabaseLocation location, DbContextOptions<StreambootDbContext> options)
    {
        Location = location;
        _options = options;
    }

    public DatabaseLocation Location { get; }

    public StreambootDbContext CreateContext() => new(_options);

    /// <summary>Opens the database, creating and migrating it as needed.</summary>
    /// <exception cref="DatabaseOpenException">The database cannot be reached, created or migrated.</exception>
    public static async Task<SiteDatabase> OpenAsync(DatabaseLocation location, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        try
        {
            if (location.Provider == DatabaseProvider.Sqlite)
            {
                await PrepareSqliteAsync(location, cancellationToken);
            }

            await MigrateAsync(location, loggerFactory, cancellationToken);
        }
        catch (DbException e)
        {
            throw new DatabaseOpenException($"cannot open the database ({location.Describe()}): {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new DatabaseOpenException($"cannot open the database ({location.Describe()}): {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DatabaseOpenException($"cannot open the database ({location.Describe()}): {e.Message}", e);
        }

        var builder = new DbContextOptionsBuilder<StreambootDbContext>().UseLoggerFactory(loggerFactory);
        if (location.Provider == DatabaseProvider.Sqlite)
        {
            builder.UseSqlite(location.ConnectionString);
        }
        else
        {
            builder.UseNpgsql(location.ConnectionString);
        }

        builder.UseSnakeCaseNamingConvention();
        return new SiteDatabase(location, builder.Options);
    }

    /// <summary>
    /// Whether a site lives there: the SQLite file exists, or the PostgreSQL
    /// database has Streamboot's schema. Nothing is created. A database that
    /// cannot be reached counts as existing: opening it then says why.
    /// </summary>
    public static async Task<bool> ExistsAsync(DatabaseLocation location, CancellationToken cancellationToken = default)
    {
        if (location.Provider == DatabaseProvider.Sqlite)
        {
            return File.Exists(new SqliteConnectionStringBuilder(location.ConnectionString).DataSource);
        }

        try
        {
            return await CurrentVersionAsync(location, cancellationToken) > 0;
        }
        catch (DbException)
        {
            return true;
        }
    }

    /// <summary>True when the database answers a trivial query.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = CreateContext();
            return await db.Database.CanConnectAsync(cancellationToken);
        }
        catch (DbException)
        {
            return false;
        }
    }

    /// <summary>The newest migration applied to this database.</summary>
    public Task<long> SchemaVersionAsync(CancellationToken cancellationToken = default) => CurrentVersionAsync(Location, cancellationToken);

    private static async Task<long> CurrentVersionAsync(DatabaseLocation location, CancellationToken cancellationToken)
    {
        await using DbConnection connection = location.Provider == DatabaseProvider.Sqlite
            ? new SqliteConnection(location.ConnectionString)
            : new NpgsqlConnection(location.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(\"Version\") FROM \"VersionInfo\"";
        try
        {
            var result = await command.ExecuteScalarAsync(cancellationToken);
            return result is null or DBNull ? 0 : Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (DbException)
        {
            // No VersionInfo table: a new database.
            return 0;
        }
    }

    private static async Task PrepareSqliteAsync(DatabaseLocation location, CancellationToken cancellationToken)
    {
        var path = new SqliteConnectionStringBuilder(location.ConnectionString).DataSource;
        var folder = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        await using var connection = new SqliteConnection(location.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // WAL lets the server stream while admins' commands write, and is a
        // property of the file: set once, kept.
        command.CommandText = "PRAGMA journal_mode=WAL;";
        var mode = (string?)await command.ExecuteScalarAsync(cancellationToken);
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new DatabaseOpenException($"cannot put {path} in WAL mode (got '{mode}'); is it on a file system that supports shared memory?");
        }
    }

    /// <summary>The newest migration this build knows.</summary>
    public static long LatestSchemaVersion { get; } = typeof(M0001_InitialSchema).Assembly.GetTypes()
        .Select(t => t.GetCustomAttribute<MigrationAttribute>()?.Version ?? 0)
        .Max();

    private static async Task MigrateAsync(DatabaseLocation location, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        // Every admin command opens the database: when the schema is current,
        // one query answers that without starting the migration runner.
        if (await CurrentVersionAsync(location, cancellationToken) == LatestSchemaVersion)
        {
            return;
        }

        await using var migrationLock = await MigrationLock.AcquireAsync(location, cancellationToken);
        var services = new ServiceCollection()
            .AddSingleton(loggerFactory)
            .AddLogging()
            .AddFluentMigratorCore()
            .ConfigureRunner(runner =>
            {
                if (location.Provider == DatabaseProvider.Sqlite)
                {
                    runner.AddSQLite();
                }
                else
                {
                    runner.AddPostgres();
                }

                runner.WithGlobalConnectionString(location.ConnectionString)
                    .ScanIn(typeof(M0001_InitialSchema).Assembly).For.Migrations();
            })
            .BuildServiceProvider(validateScopes: false);
        await using (services)
        {
            using var scope = services.CreateScope();
            var runner = scope.ServiceProvider.GetRequiredService<IMigrationRunner>();
            if (runner.HasMigrationsToApplyUp())
            {
                runner.MigrateUp();
            }
        }
    }

    /// <summary>
    /// Serialises migrations between processes: an advisory lock on
    /// PostgreSQL, an exclusive lock file beside a SQLite database.
    /// </summary>
    private sealed class MigrationLock : IAsyncDisposable
    {
        private const long PostgresLockKey = 0x5374_7265_616d_6274; // "Streambt"
        private readonly NpgsqlConnection? _connection;
        private readonly FileStream? _file;

        private MigrationLock(NpgsqlConnection? connection, FileStream? file)
        {
            _connection = connection;
            _file = file;
        }

        public static async Task<MigrationLock> AcquireAsync(DatabaseLocation location, CancellationToken cancellationToken)
        {
            if (location.Provider == DatabaseProvider.PostgreSql)
            {
                var connection = new NpgsqlConnection(location.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand($"SELECT pg_advisory_lock({PostgresLockKey})", connection);
                await command.ExecuteNonQueryAsync(cancellationToken);
                return new MigrationLock(connection, null);
            }

            var path = new SqliteConnectionStringBuilder(location.ConnectionString).DataSource + ".migrate-lock";
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                try
                {
                    // FileShare.None takes an exclusive flock on Unix.
                    return new MigrationLock(null, new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50, cancellationToken);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_connection is not null)
            {
                await using var command = new NpgsqlCommand($"SELECT pg_advisory_unlock({PostgresLockKey})", _connection);
                await command.ExecuteNonQueryAsync();
                await _connection.DisposeAsync();
            }

            if (_file is not null)
            {
                await _file.DisposeAsync();
            }
        }
    }
}
