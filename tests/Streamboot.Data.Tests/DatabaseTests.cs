using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Streamboot.Data.Model;
using Streamboot.Testing;

namespace Streamboot.Data.Tests;

/// <summary>
/// The schema's promises, checked against a real database: every test here
/// runs on SQLite (<see cref="SqliteDatabaseTests"/>) and on PostgreSQL
/// (<see cref="PostgresDatabaseTests"/>).
/// </summary>
public abstract class DatabaseTests : IAsyncLifetime
{
    private SiteDatabase? _database;

    protected SiteDatabase Database => _database ?? throw new InvalidOperationException("not initialised");

    protected DatabaseLocation Location { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Location = await CreateLocationAsync();
        _database = await SiteDatabase.OpenAsync(Location);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected abstract Task<DatabaseLocation> CreateLocationAsync();

    [Fact]
    public async Task Migrations_bring_the_schema_to_the_latest_version()
    {
        Assert.Equal(SiteDatabase.LatestSchemaVersion, await Database.SchemaVersionAsync());
        await using var db = Database.CreateContext();
        // Every mapped table exists and maps: a query on each succeeds.
        Assert.Empty(await db.Devices.ToListAsync());
        Assert.Empty(await db.VDisks.ToListAsync());
        Assert.Empty(await db.VDiskVersions.ToListAsync());
        Assert.Empty(await db.Assignments.ToListAsync());
        Assert.Empty(await db.Servers.ToListAsync());
        Assert.Empty(await db.Sessions.ToListAsync());
        Assert.Empty(await db.AuditLog.ToListAsync());
        var collection = Assert.Single(await db.Collections.ToListAsync());
        Assert.Equal("default", collection.Name);
        Assert.Equal(UnknownDevicePolicy.Refuse, collection.UnknownDevicePolicy);
    }

    [Fact]
    public async Task Opening_again_and_concurrently_migrates_once()
    {
        var opens = Enumerable.Range(0, 4).Select(_ => SiteDatabase.OpenAsync(Location));
        await Task.WhenAll(opens);
        await using var db = Database.CreateContext();
        Assert.Single(await db.Collections.ToListAsync());
        Assert.Equal(SiteDatabase.LatestSchemaVersion, await Database.SchemaVersionAsync());
    }

    [Fact]
    public async Task A_MAC_is_unique()
    {
        await AddDeviceAsync("pc-1", "52:54:00:00:00:01");
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => AddDeviceAsync("pc-2", "52:54:00:00:00:01"));
        Assert.Contains("mac", DbErrors.UniqueViolation(error), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_device_name_is_unique_without_regard_to_case()
    {
        await AddDeviceAsync("LAB-001", "52:54:00:00:00:01");
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => AddDeviceAsync("lab-001", "52:54:00:00:00:02"));
        Assert.Contains("ux_devices_name", DbErrors.UniqueViolation(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vdisk_name_is_unique_without_regard_to_case()
    {
        await AddVDiskAsync("Win11");
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => AddVDiskAsync("WIN11"));
        Assert.Contains("ux_vdisks_name", DbErrors.UniqueViolation(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_has_at_most_one_default_vdisk()
    {
        var device = await AddDeviceAsync("pc-1", "52:54:00:00:00:01");
        var a = await AddVDiskAsync("a");
        var b = await AddVDiskAsync("b");
        await using var db = Database.CreateContext();
        db.Assignments.Add(new Assignment { DeviceId = device.Id, VDiskId = a.Id, IsDefault = true, Position = 1, CreatedAt = DateTime.UtcNow });
        await db.SaveChangesAsync();
        db.Assignments.Add(new Assignment { DeviceId = device.Id, VDiskId = b.Id, IsDefault = true, Position = 2, CreatedAt = DateTime.UtcNow });
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.Contains("ux_assignments_default", DbErrors.UniqueViolation(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_has_at_most_one_live_session_but_any_number_of_ended_ones()
    {
        var device = await AddDeviceAsync("pc-1", "52:54:00:00:00:01");
        var vdisk = await AddVDiskAsync("a");
        await using var db = Database.CreateContext();
        Session NewSession(DateTime? ended) => new()
        {
            DeviceId = device.Id,
            VDiskId = vdisk.Id,
            VersionNumber = 1,
            Protocol = "nbd",
            StartedAt = DateTime.UtcNow,
            LastActivityAt = DateTime.UtcNow,
            EndedAt = ended,
        };
        db.Sessions.Add(NewSession(DateTime.UtcNow));
        db.Sessions.Add(NewSession(DateTime.UtcNow));
        db.Sessions.Add(NewSession(null));
        await db.SaveChangesAsync();
        db.Sessions.Add(NewSession(null));
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.Contains("ux_sessions_live_device", DbErrors.UniqueViolation(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_must_belong_to_an_existing_collection()
    {
        await using var db = Database.CreateContext();
        db.Devices.Add(NewDevice("pc-1", "52:54:00:00:00:01", collectionId: 999_999));
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        Assert.True(DbErrors.IsForeignKeyViolation(error), error.InnerException?.Message);
    }

    [Fact]
    public async Task Deleting_a_vdisk_removes_its_versions_and_assignments()
    {
        var device = await AddDeviceAsync("pc-1", "52:54:00:00:00:01");
        var vdisk = await AddVDiskAsync("a");
        await using (var db = Database.CreateContext())
        {
            db.Assignments.Add(new Assignment { DeviceId = device.Id, VDiskId = vdisk.Id, IsDefault = true, Position = 1, CreatedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }

        await using (var db = Database.CreateContext())
        {
            await db.VDisks.Where(v => v.Id == vdisk.Id).ExecuteDeleteAsync();
        }

        await using (var db = Database.CreateContext())
        {
            Assert.Empty(await db.VDiskVersions.ToListAsync());
            Assert.Empty(await db.Assignments.ToListAsync());
            Assert.Single(await db.Devices.ToListAsync());
        }
    }

    [Fact]
    public async Task Enums_are_stored_as_readable_text_and_times_come_back_in_utc()
    {
        var created = new DateTime(2026, 11, 25, 8, 30, 15, 123, DateTimeKind.Utc);
        await using (var db = Database.CreateContext())
        {
            var device = NewDevice("pc-1", "52:54:00:00:00:01");
            device.Type = DeviceType.Maintenance;
            device.WriteCacheMode = WriteCacheMode.ServerRam;
            device.CreatedAt = created;
            db.Devices.Add(device);
            await db.SaveChangesAsync();
        }

        await using (var db = Database.CreateContext())
        {
            var connection = db.Database.GetDbConnection();
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT type, write_cache_mode FROM devices";
            await using DbDataReader reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal("maintenance", reader.GetString(0));
            Assert.Equal("server-ram", reader.GetString(1));
        }

        await using (var db = Database.CreateContext())
        {
            var device = await db.Devices.SingleAsync();
            Assert.Equal(DateTimeKind.Utc, device.CreatedAt.Kind);
            Assert.Equal(created, device.CreatedAt);
            Assert.Equal(DeviceType.Maintenance, device.Type);
            Assert.Equal(WriteCacheMode.ServerRam, device.WriteCacheMode);
        }
    }

    protected async Task<Device> AddDeviceAsync(string name, string mac)
    {
        await using var db = Database.CreateContext();
        var device = NewDevice(name, mac);
        db.Devices.Add(device);
        await db.SaveChangesAsync();
        return device;
    }

    protected async Task<VDisk> AddVDiskAsync(string name)
    {
        await using var db = Database.CreateContext();
        var vdisk = new VDisk { Name = name, StorePath = "vdisks/" + name, SizeBytes = 1 << 20, CreatedAt = DateTime.UtcNow };
        vdisk.Versions.Add(new VDiskVersion { Number = 1, FileName = name + ".1.raw", Stage = VersionStage.Production, CreatedAt = DateTime.UtcNow });
        db.VDisks.Add(vdisk);
        await db.SaveChangesAsync();
        return vdisk;
    }

    [Fact]
    public async Task A_write_that_fails_leaves_nothing_and_the_writes_beside_it_stay()
    {
        // Held, the turn makes the three wait together (on SQLite they then share a transaction).
        var turn = await Database.WriteTurnAsync();
        var first = Database.WriteAsync((db, ct) => AddAsync(db, "pc-1", "52:54:00:00:00:01", ct));
        if (turn is null)
        {
            // PostgreSQL writes at once, side by side: the MAC's second insert
            // must come after its first, or either may be the one refused.
            await first;
        }

        var failing = Database.WriteAsync<long>(
            async (db, ct) =>
            {
                await AddAsync(db, "pc-2", "52:54:00:00:00:02", ct);
                throw new InvalidOperationException("the second write fails after its insert");
            });
        var unique = Database.WriteAsync((db, ct) => AddAsync(db, "pc-3", "52:54:00:00:00:01", ct));
        var third = Database.WriteAsync((db, ct) => AddAsync(db, "pc-4", "52:54:00:00:00:04", ct));
        turn?.Dispose();

        Assert.True(await first > 0);
        Assert.Equal("the second write fails after its insert", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing)).Message);
        Assert.NotNull(DbErrors.UniqueViolation(await Assert.ThrowsAsync<DbUpdateException>(() => unique)));
        Assert.True(await third > 0);
        await using var check = Database.CreateContext();
        Assert.Equal(["pc-1", "pc-4"], await check.Devices.OrderBy(d => d.Name).Select(d => d.Name).ToListAsync());
    }

    [Fact]
    public async Task A_write_given_up_before_its_turn_is_not_written()
    {
        var turn = await Database.WriteTurnAsync();
        using var cancel = new CancellationTokenSource();
        var given = Database.WriteAsync((db, ct) => AddAsync(db, "pc-1", "52:54:00:00:00:01", ct), cancel.Token);
        var kept = Database.WriteAsync((db, ct) => AddAsync(db, "pc-2", "52:54:00:00:00:02", ct));
        if (turn is not null)
        {
            cancel.Cancel();
            turn.Dispose();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => given);
        }
        else
        {
            // PostgreSQL writes at once: nothing waits to be given up.
            await given;
        }

        await kept;
        await using var check = Database.CreateContext();
        Assert.Equal(turn is null ? ["pc-1", "pc-2"] : ["pc-2"], await check.Devices.OrderBy(d => d.Name).Select(d => d.Name).ToListAsync());
    }

    protected static async Task<long> AddAsync(StreambootDbContext db, string name, string mac, CancellationToken cancellationToken)
    {
        var device = NewDevice(name, mac);
        db.Devices.Add(device);
        await db.SaveChangesAsync(cancellationToken);
        return device.Id;
    }

    protected static Device NewDevice(string name, string mac, long collectionId = 1) => new()
    {
        Name = name,
        Mac = mac,
        MachineId = Guid.NewGuid(),
        CollectionId = collectionId,
        CreatedAt = DateTime.UtcNow,
        UpdatedAt = DateTime.UtcNow,
    };
}

public sealed class SqliteDatabaseTests : DatabaseTests
{
    private readonly TempFolder _folder = new();

    public override Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Dispose();
        return Task.CompletedTask;
    }

    protected override Task<DatabaseLocation> CreateLocationAsync() => Task.FromResult(DatabaseLocation.InDataFolder(_folder.Path));

    [Fact]
    public async Task Writers_of_one_file_in_one_process_take_turns()
    {
        // Another opening of the same file (as the server's serving view and its admin code have) shares the turns.
        var again = await SiteDatabase.OpenAsync(Location);
        var first = await Database.WriteTurnAsync();
        Assert.NotNull(first);
        var second = again.WriteTurnAsync().AsTask();
        var third = Database.WriteTurnAsync().AsTask();
        Assert.False(second.IsCompleted, "a second writer went while the first held its turn");

        // Another file is another writer's.
        using var folder = new TempFolder();
        var other = await SiteDatabase.OpenAsync(DatabaseLocation.InDataFolder(folder.Path));
        using (var elsewhere = await other.WriteTurnAsync())
        {
            Assert.NotNull(elsewhere);
        }

        first!.Dispose();
        first.Dispose(); // twice lets nobody extra in
        var next = await Task.WhenAny(second, third);
        Assert.False(second.IsCompleted && third.IsCompleted, "two writers went at once");
        (await next)!.Dispose();
        (await (next == second ? third : second))!.Dispose();
        using var last = await Database.WriteTurnAsync();
        Assert.NotNull(last);
    }

    [Fact]
    public async Task Writes_that_arrive_together_share_one_transaction_and_one_commit()
    {
        var turn = await Database.WriteTurnAsync();
        var writes = Enumerable.Range(1, 5).Select(i => Database.WriteAsync(
            async (db, ct) =>
            {
                await AddAsync(db, $"pc-{i}", $"52:54:00:00:00:0{i}", ct);
                return db.Database.CurrentTransaction!.TransactionId;
            })).ToList();
        Assert.DoesNotContain(writes, w => w.IsCompleted);
        turn!.Dispose();
        var transactions = await Task.WhenAll(writes);
        Assert.Single(transactions.Distinct());

        // Alone, a write has a transaction of its own.
        var alone = await Database.WriteAsync((db, ct) => Task.FromResult(db.Database.CurrentTransaction!.TransactionId));
        Assert.DoesNotContain(alone, transactions);
        await using var check = Database.CreateContext();
        Assert.Equal(5, await check.Devices.CountAsync());
    }

    [Fact]
    public async Task The_embedded_database_is_in_WAL_mode()
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Location.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }
}

public sealed class PostgresDatabaseTests : DatabaseTests
{
    [Fact]
    public async Task Writers_need_no_turns()
    {
        // PostgreSQL has writers side by side; only a SQLite file takes turns.
        using var first = await Database.WriteTurnAsync();
        using var second = await Database.WriteTurnAsync();
        Assert.Null(first);
        Assert.Null(second);
    }

    [Fact]
    public async Task Writes_at_once_each_have_their_own_transaction()
    {
        var writes = Enumerable.Range(1, 3).Select(i => Database.WriteAsync(
            async (db, ct) =>
            {
                await AddAsync(db, $"pc-{i}", $"52:54:00:00:00:0{i}", ct);
                return db.Database.CurrentTransaction!.TransactionId;
            }));
        Assert.Equal(3, (await Task.WhenAll(writes)).Distinct().Count());
    }

    protected override async Task<DatabaseLocation> CreateLocationAsync() =>
        await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
}
