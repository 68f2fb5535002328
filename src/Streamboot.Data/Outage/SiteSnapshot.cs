using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;
using Streamboot.Data.Model;

namespace Streamboot.Data.Outage;

/// <summary>
/// One server's local copy of what it needs to keep serving while the
/// site's PostgreSQL database is unreachable (PVS's offline database mode,
/// with boots still working): a SQLite file with the site's schema, readable
/// only by root, refreshed from the database every few seconds while it
/// answers (devices, collections, vDisks and versions, assignments, servers,
/// boots, recent sessions, DHCP leases, copies of versions).
/// <para>
/// During an outage the serving paths read and write this file instead
/// (<see cref="SiteDatabase.ServingFrom"/>). Every change they make to boots
/// and sessions is journaled by triggers in the same file, and rows they
/// add take ids from a range of this server's own (far above any sequence
/// of the database, one range per server), so the ids a live session holds
/// in memory stay true once the rows are written back. When the database
/// answers again the journal is replayed (<see cref="WriteBackAsync"/>):
/// each changed row's final state, rows that release a slot (ended
/// sessions, deleted or pending boots) before rows that take one.
/// </para>
/// </summary>
public sealed partial class SiteSnapshot
{
    /// <summary>Where offline ids start: 2^50, so every id stays exact in a double (JSON readers).</summary>
    public const long OfflineIdBase = 1L << 50;

    // Each server's range: 2^40 ids, at OfflineIdBase + (server id mod 2^10) << 40, all below 2^51.
    private const int ServerRangeBits = 40;
    private const long ServerIdMask = (1L << 10) - 1;
    private static readonly string[] s_journaled = ["boots", "sessions"];

    private readonly SiteDatabase _online;
    private readonly string _path;
    private readonly Func<long?> _serverId;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DbContextOptions<StreambootDbContext>? _options;
    private long _nextId;
    private volatile bool _offline;

    public SiteSnapshot(SiteDatabase online, string path, Func<long?> serverId, ILoggerFactory loggers, TimeProvider? clock = null)
    {
        _online = online;
        _path = Path.GetFullPath(path);
        _serverId = serverId;
        _clock = clock ?? TimeProvider.System;
        _logger = loggers.CreateLogger("Streamboot.Data.Outage");
    }

    /// <summary>The snapshot file.</summary>
    public string FilePath => _path;

    /// <summary>True while the serving paths answer from this snapshot.</summary>
    public bool Offline => _offline;

    /// <summary>When the data in the snapshot was read from the database; null before the first refresh.</summary>
    public DateTime? TakenAt { get; private set; }

    /// <summary>When the current outage began (null while online).</summary>
    public DateTime? OfflineSince { get; private set; }

    /// <summary>
    /// The last outage this server went through: from the last moment the
    /// database was read (the snapshot's time) to the moment it answered
    /// again. Nobody's heartbeat could reach the database in between.
    /// </summary>
    public (DateTime From, DateTime To)? LastOutage { get; private set; }

    /// <summary>
    /// Creates or opens the file (0600 in a 0700 folder) with the current
    /// schema. A journal left by a server that stopped during an outage is
    /// written back by the first <see cref="RefreshAsync"/>.
    /// </summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(folder);
        var location = DatabaseLocation.ForSqliteFile(_path);
        await SiteDatabase.OpenAsync(location, cancellationToken: cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            // It holds the boots' keys (hashed) and the site's layout: root's alone.
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        // Foreign keys off: a copy of rows is taken table by table, and the
        // database it copies already holds them to its constraints.
        _options = new DbContextOptionsBuilder<StreambootDbContext>()
            .UseSqlite($"{location.ConnectionString};Foreign Keys=False")
            .UseSnakeCaseNamingConvention()
            .AddInterceptors(new OfflineIds(this))
            .Options;
        await using var db = CreateContext();
        await db.Database.ExecuteSqlRawAsync(
            "CREATE TABLE IF NOT EXISTS offline_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, table_name TEXT NOT NULL, row_id INTEGER NOT NULL)",
            cancellationToken);
        foreach (var table in s_journaled)
        {
            foreach (var (when, row) in new[] { ("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD") })
            {
#pragma warning disable EF1002, EF1003 // table and trigger names are this class's constants
                await db.Database.ExecuteSqlRawAsync(
                    $"CREATE TRIGGER IF NOT EXISTS journal_{table}_{when.ToLowerInvariant()} AFTER {when} ON {table} " +
                    $"BEGIN INSERT INTO offline_changes (table_name, row_id) VALUES ('{table}', {row}.id); END",
                    cancellationToken);
#pragma warning restore EF1002, EF1003
            }
        }
    }

    /// <summary>A context on the snapshot file.</summary>
    public StreambootDbContext CreateContext() =>
        new(_options ?? throw new InvalidOperationException("the site snapshot is not open"));

    /// <summary>
    /// Copies the database into the snapshot, in one transaction on each
    /// side (PostgreSQL's repeatable read: one consistent moment). Changes
    /// journaled by an outage are written back first. Throws what the
    /// database throws when it is unreachable.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_offline)
            {
                return;
            }

            if (await PendingAsync(cancellationToken) > 0)
            {
                await WriteBackLockedAsync(cancellationToken);
            }

            var now = _clock.GetUtcNow().UtcDateTime;
            var recent = now.AddHours(-1);
            Rows rows;
            await using (var source = _online.CreateContext())
            {
                await using var read = await source.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
                rows = new Rows(
                    await source.SiteSettings.AsNoTracking().ToListAsync(cancellationToken),
                    await source.Collections.AsNoTracking().ToListAsync(cancellationToken),
                    await source.VDisks.AsNoTracking().ToListAsync(cancellationToken),
                    await source.VDiskVersions.AsNoTracking().ToListAsync(cancellationToken),
                    await source.Devices.AsNoTracking().ToListAsync(cancellationToken),
                    await source.Assignments.AsNoTracking().ToListAsync(cancellationToken),
                    await source.Servers.AsNoTracking().ToListAsync(cancellationToken),
                    await source.Boots.AsNoTracking().ToListAsync(cancellationToken),
                    await source.Sessions.AsNoTracking().Where(s => s.EndedAt == null || s.EndedAt > recent).ToListAsync(cancellationToken),
                    await source.DhcpLeases.AsNoTracking().ToListAsync(cancellationToken),
                    await source.VersionReplicas.AsNoTracking().ToListAsync(cancellationToken));
                await read.CommitAsync(cancellationToken);
            }

            await using var target = CreateContext();
            await using var write = await target.Database.BeginTransactionAsync(cancellationToken);
            foreach (var table in new[] { "site_settings", "collections", "vdisks", "vdisk_versions", "devices", "assignments", "servers", "boots", "sessions", "dhcp_leases", "version_replicas" })
            {
#pragma warning disable EF1002 // the table names are this method's constants
                await target.Database.ExecuteSqlRawAsync($"DELETE FROM {table}", cancellationToken);
#pragma warning restore EF1002
            }

            target.AddRange(rows.All());
            await target.SaveChangesAsync(cancellationToken);
            // The copy is not a change to write back.
            await target.Database.ExecuteSqlRawAsync("DELETE FROM offline_changes", cancellationToken);
            await write.CommitAsync(cancellationToken);
            TakenAt = now;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A serving path failed as if the database were gone: when it is
    /// (it does not answer a query of its own within 3 s) and a snapshot was
    /// taken, the serving paths switch to it. True when they now have.
    /// </summary>
    public async Task<bool> ConfirmOutageAsync(CancellationToken cancellationToken = default)
    {
        if (_offline)
        {
            return true;
        }

        if (TakenAt is null || _serverId() is null)
        {
            return false;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_offline)
            {
                return true;
            }

            if (await _online.ReachableAsync(TimeSpan.FromSeconds(3), cancellationToken))
            {
                return false;
            }

            await GoOfflineAsync(cancellationToken);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// While offline: when the database answers again, writes the outage's
    /// changes back and switches the serving paths to it. True when online.
    /// </summary>
    public async Task<bool> TryReturnAsync(CancellationToken cancellationToken)
    {
        if (!_offline)
        {
            return true;
        }

        if (!await _online.ReachableAsync(TimeSpan.FromSeconds(3), cancellationToken))
        {
            return false;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            SiteDatabase.ForgetPooledConnections();
            var since = OfflineSince ?? _clock.GetUtcNow().UtcDateTime;
            WriteBackResult written;
            try
            {
                written = await WriteBackLockedAsync(cancellationToken);
            }
            catch (Exception e) when (DbErrors.IsUnreachable(e))
            {
                return false;
            }

            var back = _clock.GetUtcNow().UtcDateTime;
            LastOutage = (TakenAt is { } taken && taken < since ? taken : since, back);
            _offline = false;
            OfflineSince = null;
            LogBack(_logger, (back - since).TotalSeconds, written.Rows, written.Conflicts);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Changes journaled and not yet written back.</summary>
    public async Task<int> PendingAsync(CancellationToken cancellationToken)
    {
        await using var db = CreateContext();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM offline_changes";
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Writes the journaled changes back now (tests; the server does it on return).</summary>
    public async Task<WriteBackResult> WriteBackAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await WriteBackLockedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Switches the serving paths to the snapshot without asking the database (tests).</summary>
    public async Task GoOfflineForTestAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await GoOfflineAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task GoOfflineAsync(CancellationToken cancellationToken)
    {
        var server = _serverId() ?? throw new InvalidOperationException("a server without an id cannot serve offline");
        var first = OfflineIdBase + ((server & ServerIdMask) << ServerRangeBits);
        var last = first + (1L << ServerRangeBits) - 1;
        await using (var db = CreateContext())
        {
            var boots = await db.Boots.Where(b => b.Id >= first && b.Id <= last).MaxAsync(b => (long?)b.Id, cancellationToken) ?? first;
            var sessions = await db.Sessions.Where(s => s.Id >= first && s.Id <= last).MaxAsync(s => (long?)s.Id, cancellationToken) ?? first;
            Interlocked.Exchange(ref _nextId, Math.Max(boots, sessions));
        }

        SiteDatabase.ForgetPooledConnections();
        OfflineSince = _clock.GetUtcNow().UtcDateTime;
        _offline = true;
        LogOffline(_logger, TakenAt ?? DateTime.MinValue);
    }

    private async Task<WriteBackResult> WriteBackLockedAsync(CancellationToken cancellationToken)
    {
        List<(string Table, long Id, long Seq)> changes = [];
        await using (var local = CreateContext())
        {
            var connection = local.Database.GetDbConnection();
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT table_name, row_id, MAX(seq) FROM offline_changes GROUP BY table_name, row_id";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                changes.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        if (changes.Count == 0)
        {
            return new WriteBackResult(0, 0);
        }

        var bootIds = changes.Where(c => c.Table == "boots").Select(c => c.Id).ToList();
        var sessionIds = changes.Where(c => c.Table == "sessions").Select(c => c.Id).ToList();
        Dictionary<long, Boot> boots;
        Dictionary<long, Session> sessions;
        await using (var local = CreateContext())
        {
            boots = await local.Boots.AsNoTracking().Where(b => bootIds.Contains(b.Id)).ToDictionaryAsync(b => b.Id, cancellationToken);
            sessions = await local.Sessions.AsNoTracking().Where(s => sessionIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
        }

        // Rows that give up a unique slot (a device's running boot, its live
        // session) go first, so the rows that take one find it free.
        bool Releases((string Table, long Id, long Seq) c) => c.Table == "boots"
            ? !boots.TryGetValue(c.Id, out var boot) || boot.StartedAt is null
            : !sessions.TryGetValue(c.Id, out var session) || session.EndedAt is not null;
        var ordered = changes.OrderBy(c => Releases(c) ? 0 : 1).ThenBy(c => c.Seq).ToList();
        var conflicts = 0;
        foreach (var change in ordered)
        {
            try
            {
                await using var db = _online.CreateContext();
                if (change.Table == "boots")
                {
                    await ApplyAsync(db, db.Boots, change.Id, boots.GetValueOrDefault(change.Id), cancellationToken);
                }
                else
                {
                    await ApplyAsync(db, db.Sessions, change.Id, sessions.GetValueOrDefault(change.Id), cancellationToken);
                }
            }
            catch (DbUpdateException e) when (!DbErrors.IsUnreachable(e))
            {
                // The database changed meanwhile in a way this row cannot join
                // (another server took the device, an admin deleted it): the
                // database's state stands.
                conflicts++;
                LogConflict(_logger, change.Table, change.Id, DbErrors.UniqueViolation(e) ?? e.InnerException?.GetType().Name ?? e.GetType().Name);
            }
        }

        var max = changes.Max(c => c.Seq);
        await using (var local = CreateContext())
        {
            await local.Database.ExecuteSqlAsync($"DELETE FROM offline_changes WHERE seq <= {max}", cancellationToken);
        }

        return new WriteBackResult(changes.Count - conflicts, conflicts);
    }

    private static async Task ApplyAsync<T>(StreambootDbContext db, DbSet<T> set, long id, T? row, CancellationToken cancellationToken)
        where T : class
    {
        var existing = await set.FindAsync([id], cancellationToken);
        if (row is null)
        {
            if (existing is not null)
            {
                set.Remove(existing);
            }
        }
        else if (existing is null)
        {
            set.Add(row);
        }
        else
        {
            db.Entry(existing).CurrentValues.SetValues(row);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    private long NextId() => Interlocked.Increment(ref _nextId);

    /// <summary>How many changed rows were written back, and how many the database refused.</summary>
    public sealed record WriteBackResult(int Rows, int Conflicts);

    private sealed record Rows(
        List<SiteSettings> Settings, List<Collection> Collections, List<VDisk> VDisks, List<VDiskVersion> Versions,
        List<Device> Devices, List<Assignment> Assignments, List<Model.Server> Servers, List<Boot> Boots,
        List<Session> Sessions, List<DhcpLeaseRow> Leases, List<VersionReplica> Replicas)
    {
        public IEnumerable<object> All() =>
            Settings.Cast<object>().Concat(Collections).Concat(VDisks).Concat(Versions).Concat(Devices).Concat(Assignments)
                .Concat(Servers).Concat(Boots).Concat(Sessions).Concat(Leases).Concat(Replicas);
    }

    /// <summary>Gives rows added offline ids from this server's range.</summary>
    private sealed class OfflineIds(SiteSnapshot snapshot) : SaveChangesInterceptor
    {
        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            Assign(eventData.Context);
            return base.SavingChangesAsync(eventData, result, cancellationToken);
        }

        public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
        {
            Assign(eventData.Context);
            return base.SavingChanges(eventData, result);
        }

        private void Assign(DbContext? context)
        {
            if (context is null || !snapshot.Offline)
            {
                return;
            }

            foreach (var entry in context.ChangeTracker.Entries())
            {
                if (entry.State != EntityState.Added)
                {
                    continue;
                }

                switch (entry.Entity)
                {
                    case Boot { Id: 0 } boot:
                        boot.Id = snapshot.NextId();
                        break;
                    case Session { Id: 0 } session:
                        session.Id = snapshot.NextId();
                        break;
                }
            }
        }
    }

    [LoggerMessage(1040, LogLevel.Warning, "The site database is unreachable: serving known devices from this server's snapshot of {TakenAt:u}; changes and new machines wait until it is back")]
    private static partial void LogOffline(ILogger logger, DateTime takenAt);

    [LoggerMessage(1041, LogLevel.Information, "The site database is back after {Seconds:F0} s: {Rows} rows changed during the outage written back, {Conflicts} refused")]
    private static partial void LogBack(ILogger logger, double seconds, int rows, int conflicts);

    [LoggerMessage(1042, LogLevel.Warning, "Outage write-back: the database refused {Table} row {Id} ({Why}); its own state stands")]
    private static partial void LogConflict(ILogger logger, string table, long id, string why);
}
