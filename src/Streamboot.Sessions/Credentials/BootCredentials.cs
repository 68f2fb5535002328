using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Sessions.Credentials;

/// <summary>
/// The boots of devices, in the database so that every server of a site
/// knows them and they outlive a server restart: issued with a key when a
/// boot script is written, started when the key first opens the disk, gone
/// when the next boot of the device starts.
/// </summary>
internal sealed class BootCredentials(SiteDatabase database, SessionSettings settings, TimeProvider clock)
{
    /// <summary>Issues a new pending boot of the device (a boot script is about to carry its key); returns the key.</summary>
    public async Task<string> IssueAsync(long deviceId, long vdiskId, string? issuedTo, CancellationToken cancellationToken)
    {
        var boot = NewBoot(deviceId, vdiskId, issuedTo);
        using (await database.WriteTurnAsync(cancellationToken))
        await using (var db = database.CreateContext())
        {
            db.Boots.Add(boot);
            await db.SaveChangesAsync(cancellationToken);
        }

        await PruneAsync(deviceId, issuedTo, cancellationToken);
        return boot.Key;
    }

    /// <summary>A new pending boot with a fresh key, not yet saved (placement adds it with its server).</summary>
    public Boot NewBoot(long deviceId, long vdiskId, string? issuedTo) =>
        new() { DeviceId = deviceId, Key = BootKey.New(), VDiskId = vdiskId, IssuedAt = clock.GetUtcNow().UtcDateTime, IssuedTo = issuedTo };

    /// <summary>
    /// Bounded: pending boots expire, and one address (or all of them)
    /// keeps only the newest few, so scripts fetched elsewhere for this
    /// MAC neither grow the table nor push out the real machine's key.
    /// </summary>
    public async Task PruneAsync(long deviceId, string? issuedTo, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var db = database.CreateContext();
        var expired = now - settings.PendingBootLifetime;
        var pending = await db.Boots.Where(b => b.DeviceId == deviceId && b.StartedAt == null)
            .OrderByDescending(b => b.Id).Select(b => new { b.Id, b.IssuedTo, b.IssuedAt }).ToListAsync(cancellationToken);
        var drop = pending.Where(b => b.IssuedAt < expired).Select(b => b.Id)
            .Concat(pending.Where(b => b.IssuedTo == issuedTo).Skip(settings.MaxPendingBootsPerAddress).Select(b => b.Id))
            .Concat(pending.Skip(settings.MaxPendingBootsPerDevice).Select(b => b.Id))
            .Distinct().ToList();
        if (drop.Count > 0)
        {
            using var turn = await database.WriteTurnAsync(cancellationToken);
            await db.Boots.Where(b => drop.Contains(b.Id)).ExecuteDeleteAsync(cancellationToken);
        }
    }

    /// <summary>The boot of the device whose key this is, or null; every candidate is compared in constant time.</summary>
    public async Task<Boot?> MatchAsync(long deviceId, string key, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var boots = await db.Boots.AsNoTracking().Where(b => b.DeviceId == deviceId).ToListAsync(cancellationToken);
        Boot? match = null;
        foreach (var boot in boots)
        {
            // No early exit: the time taken says nothing about which boot matched.
            if (BootKey.Matches(boot.Key, key))
            {
                match = boot;
            }
        }

        return match;
    }

    /// <summary>The key of the device's boot of the vDisk that <paramref name="proves"/> accepts; every candidate is tried, whatever matched first.</summary>
    public async Task<string?> ProveAsync(long deviceId, long vdiskId, Func<string, bool> proves, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var keys = await db.Boots.AsNoTracking().Where(b => b.DeviceId == deviceId && b.VDiskId == vdiskId).Select(b => b.Key).ToListAsync(cancellationToken);
        string? match = null;
        foreach (var key in keys)
        {
            if (proves(key))
            {
                match = key;
            }
        }

        return match;
    }

    /// <summary>Whether the key belongs to some boot of the vDisk (any device's), compared in constant time per boot.</summary>
    public async Task<bool> AnyOfVDiskAsync(long vdiskId, string key, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        var keys = await db.Boots.AsNoTracking().Where(b => b.VDiskId == vdiskId).Select(b => b.Key).ToListAsync(cancellationToken);
        var found = false;
        foreach (var stored in keys)
        {
            found |= BootKey.Matches(stored, key);
        }

        return found;
    }

    /// <summary>The device's running boot, if it has one.</summary>
    /// <summary>The running boot of each of these devices that has one: device id to boot id.</summary>
    public async Task<Dictionary<long, long>> RunningBootIdsAsync(IReadOnlyList<long> deviceIds, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        return await db.Boots.AsNoTracking().Where(b => b.StartedAt != null && deviceIds.Contains(b.DeviceId))
            .ToDictionaryAsync(b => b.DeviceId, b => b.Id, cancellationToken);
    }

    public async Task<Boot?> RunningAsync(long deviceId, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        return await db.Boots.AsNoTracking().FirstOrDefaultAsync(b => b.DeviceId == deviceId && b.StartedAt != null, cancellationToken);
    }

    /// <summary>The newest boot issued to the device (with keys off, a view without a key takes it).</summary>
    public async Task<Boot?> NewestAsync(long deviceId, CancellationToken cancellationToken)
    {
        await using var db = database.CreateContext();
        return await db.Boots.AsNoTracking().Where(b => b.DeviceId == deviceId).OrderByDescending(b => b.StartedAt == null).ThenByDescending(b => b.Id)
            .FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>
    /// Starts a pending boot: it becomes the device's running boot, pinned
    /// to <paramref name="version"/>, and every other boot of the device
    /// (the one it replaces, scripts never used) is gone, with their keys.
    /// The device's session rows still open are ended: they belonged to the
    /// boot that is over. False when another server started a boot of the
    /// device at the same moment, or this one was dropped meanwhile. On
    /// success <paramref name="boot"/>'s StartedAt is the row's.
    /// </summary>
    public async Task<bool> StartAsync(Boot boot, string? address, int version, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        try
        {
            await database.WriteAsync(
                async (db, ct) =>
                {
                    await db.Boots.Where(b => b.DeviceId == boot.DeviceId && b.Id != boot.Id).ExecuteDeleteAsync(ct);
                    var started = await db.Boots.Where(b => b.Id == boot.Id && b.StartedAt == null).ExecuteUpdateAsync(
                        u => u.SetProperty(b => b.StartedAt, now).SetProperty(b => b.Address, address).SetProperty(b => b.VersionNumber, version),
                        ct);
                    if (started == 0)
                    {
                        // Dropped meanwhile, or started by another server: the deletion above is rolled back with it.
                        throw new NotStartedException();
                    }

                    await db.Sessions.Where(s => s.DeviceId == boot.DeviceId && s.EndedAt == null).ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now), ct);
                    return true;
                },
                cancellationToken);
            boot.StartedAt = now;
            return true;
        }
        catch (Exception e) when (e is NotStartedException || DbErrors.UniqueViolationOf(e) is not null)
        {
            return false;
        }
    }

    /// <summary>Rolls a start back (its write's savepoint or transaction) when the boot was not there to start.</summary>
    private sealed class NotStartedException : Exception;

    /// <summary>
    /// Hands the running boot's key out once, to a client without it (true
    /// the first time); every later ask is refused.
    /// </summary>
    public Task<bool> GiveKeyOnceAsync(long bootId, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (db, ct) => await db.Boots.Where(b => b.Id == bootId && !b.KeyGiven).ExecuteUpdateAsync(u => u.SetProperty(b => b.KeyGiven, true), ct) == 1,
            cancellationToken);

    /// <summary>
    /// Whether the device streamed lately: a live session anywhere in the
    /// site, or one that ended within <see cref="SessionSettings.TakeoverGuard"/>.
    /// </summary>
    public async Task<bool> StreamedLatelyAsync(long deviceId, CancellationToken cancellationToken)
    {
        var since = clock.GetUtcNow().UtcDateTime - settings.TakeoverGuard;
        await using var db = database.CreateContext();
        return await db.Sessions.AnyAsync(s => s.DeviceId == deviceId && (s.EndedAt == null || s.EndedAt > since), cancellationToken);
    }
}
