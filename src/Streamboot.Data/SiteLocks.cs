using Microsoft.EntityFrameworkCore;

namespace Streamboot.Data;

/// <summary>
/// Locks that serialize one kind of decision across every server of a site,
/// held until the caller's transaction ends: a PostgreSQL transaction-level
/// advisory lock, or SQLite's write lock (a write statement takes it at once,
/// and SQLite has one writer at a time anyway).
/// </summary>
public static class SiteLocks
{
    // pg_advisory_xact_lock(int, int): the same class id space as ServerNameLock, another key.
    private const int PostgresClassId = 0x5362_504C; // "SbPL"

    /// <summary>Boot placement: counting each server's booting clients and adding a boot is one step for the whole farm.</summary>
    public const int Placement = 1;

    /// <summary>Naming a new device from its collection's pattern: servers registering machines at once never pick one name twice.</summary>
    public const int DeviceNames = 2;

    /// <summary>Takes the lock <paramref name="key"/> inside the context's open transaction.</summary>
    public static async Task TakeAsync(StreambootDbContext db, int key, CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("a site lock is held by a transaction: begin one first");
        }

        if (db.Database.IsNpgsql())
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({PostgresClassId}, {key})", cancellationToken);
        }
        else
        {
            // A write that changes nothing still takes SQLite's RESERVED lock for the transaction.
            await db.Database.ExecuteSqlRawAsync("UPDATE servers SET id = id WHERE id = -1", cancellationToken);
        }
    }
}
