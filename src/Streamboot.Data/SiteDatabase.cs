using System.Data.Common;
using System.Reflection;
using FluentMigrator;
using FluentMigrator.Runner;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
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
    // One turn per SQLite file in this process (keyed by connection string or snapshot path).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> s_writers = new(StringComparer.Ordinal);

    private readonly PooledDbContextFactory<StreambootDbContext> _contexts;
    private readonly Outage.SiteSnapshot? _snapshot;

    private SiteDatabase(DatabaseLocation location, PooledDbContextFactory<StreambootDbContext> contexts, Outage.SiteSnapshot? snapshot = null)
    {
        Location = location;
        _contexts = contexts;
        _snapshot = snapshot;
    }

    public DatabaseLocation Location { get; }

    /// <summary>
    /// A context on the site database; on a serving view (<see cref="ServingFrom"/>)
    /// during an outage, a context on this server's local snapshot instead.
    /// </summary>
    public StreambootDbContext CreateContext() => _snapshot is { Offline: true } snapshot ? snapshot.CreateContext() : _contexts.CreateDbContext();

    /// <summary>
    /// The same database for the paths that serve clients (boot decisions,
    /// opening disks, DHCP): while the database is unreachable they read and
    /// write <paramref name="snapshot"/>, which writes their changes back when
    /// it returns. Admin changes and the farm's own bookkeeping keep the
    /// database itself and fail while it is gone.
    /// </summary>
    public SiteDatabase ServingFrom(Outage.SiteSnapshot snapshot) => new(Location, _contexts, snapshot);

    /// <summary>
    /// Waits, asynchronously, for this process's turn to write the SQLite
    /// file its next context writes (the site's, or the snapshot while
    /// offline); null on PostgreSQL, whose writers need no turns. SQLite has
    /// one writer at a time, and a second writer of the same file is answered
    /// "busy", which Microsoft.Data.Sqlite retries by blocking its thread in
    /// 150 ms sleeps: in a boot storm, the boots' writes (placing, starting,
    /// opening and ending sessions) took turns that way, and the blocked
    /// threads starved the thread pool the disks are served from. Writers in
    /// one process queue here instead; another process (an admin's command)
    /// still meets SQLite's own lock. Hold the turn around one short write
    /// or transaction, never across another turn.
    /// </summary>
    public async ValueTask<WriteTurn?> WriteTurnAsync(CancellationToken cancellationToken = default)
    {
        var file = _snapshot is { Offline: true } snapshot ? snapshot.FilePath
            : Location.Provider == DatabaseProvider.Sqlite ? Location.ConnectionString
            : null;
        if (file is null)
        {
            return null;
        }

        var gate = s_writers.GetOrAdd(file, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        return new WriteTurn(gate);
    }

    // One group-commit queue per SQLite file of the site (not for an offline snapshot: a rare path).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, WriteBatch> s_batches = new(StringComparer.Ordinal);

    /// <summary>
    /// Runs one write (its statements, <c>SaveChanges</c>) in a transaction
    /// and returns its result once that is committed; an exception from the
    /// write leaves nothing of it behind. On SQLite, writes that arrive while
    /// others are being written share the next transaction (<see cref="WriteBatch"/>:
    /// one savepoint each, one commit and one write turn for all); on
    /// PostgreSQL, and on an offline snapshot, each has its own. So a write
    /// must not count on seeing only its own transaction: it takes what it
    /// reads in it, as in any transaction, and a site lock it takes
    /// (<see cref="SiteLocks"/>) is held until the shared commit.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<StreambootDbContext, CancellationToken, Task<T>> write, CancellationToken cancellationToken = default)
    {
        if (Location.Provider == DatabaseProvider.Sqlite && !Offline)
        {
            return await s_batches.GetOrAdd(Location.ConnectionString, static _ => new WriteBatch()).EnqueueAsync(this, write, cancellationToken);
        }

        using var turn = await WriteTurnAsync(cancellationToken);
        await using var db = CreateContext();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var result = await write(db, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>True while this (serving) view answers from the local snapshot because the database is unreachable.</summary>
    public bool Offline => _snapshot?.Offline == true;

    /// <summary>
    /// The moment a server's heartbeat read now is judged against, with
    /// <paramref name="downAfter"/> of silence meaning down: now; while
    /// offline, the time the snapshot was taken (not a clock that moved on
    /// while nobody could write a heartbeat); and for <paramref name="downAfter"/>
    /// after an outage, now less the outage, so the first server back does not
    /// take the others, whose heartbeats could not be written either, for dead
    /// and end their sessions (a heartbeat from before the outage counts only
    /// the silence while the database answered).
    /// </summary>
    public DateTime AsOf(DateTime now, TimeSpan downAfter) => _snapshot switch
    {
        { Offline: true, TakenAt: { } taken } => taken,
        { LastOutage: { } outage } when now - outage.To < downAfter => outage.From + (now - outage.To),
        _ => now,
    };

    /// <summary>
    /// After a failure that looks like the database went away: true when this
    /// serving view now answers from its snapshot (the database is confirmed
    /// unreachable and a snapshot exists), so the caller may try once more.
    /// </summary>
    public Task<bool> FallBackAsync(Exception failure, CancellationToken cancellationToken = default) =>
        _snapshot is null || !DbErrors.IsUnreachable(failure) ? Task.FromResult(false) : _snapshot.ConfirmOutageAsync(cancellationToken);

    /// <summary>
    /// Whether PostgreSQL answers within <paramref name="timeout"/>, on a
    /// connection of its own (a pooled connection the server broke would
    /// otherwise answer for it). SQLite is a local file: always true.
    /// </summary>
    public async Task<bool> ReachableAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (Location.Provider != DatabaseProvider.PostgreSql)
        {
            return true;
        }

        var seconds = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        var builder = new NpgsqlConnectionStringBuilder(Location.ConnectionString) { Pooling = false, Timeout = seconds, CommandTimeout = seconds };
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is DbException or TimeoutException or IOException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Drops pooled PostgreSQL connections: after an outage they are dead, and the next user would find out first.</summary>
    public static void ForgetPooledConnections() => NpgsqlConnection.ClearAllPools();

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
        catch (DbException e) when (location.Provider == DatabaseProvider.PostgreSql && DbErrors.IsUnreachable(e))
        {
            throw new DatabaseOpenException(
                $"the site database ({location.Describe()}) does not answer ({e.Message}); changes wait until it is back, while running servers keep booting known devices from their snapshots", e);
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
            // No execution strategy: a lost connection surfaces as Npgsql's own
            // DbException (what callers catch), not wrapped as "a transient failure".
            builder.UseNpgsql(location.ConnectionString, npgsql => npgsql.ExecutionStrategy(dependencies => new NonRetryingExecutionStrategy(dependencies)));
        }

        builder.UseSnakeCaseNamingConvention();
        // Contexts are pooled: a new one sets up EF Core's services for
        // itself, which costs more than the query it is made for (opening a
        // device's session makes about ten); a pooled one is reset and reused.
        return new SiteDatabase(location, new PooledDbContextFactory<StreambootDbContext>(builder.Options));
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
