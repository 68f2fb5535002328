using Microsoft.EntityFrameworkCore;
using Streamboot.Admin;
using Streamboot.Admin.Stores;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Sessions.Stores;

/// <summary>
/// Whether this server may serve a version, asked when a view opens and
/// when a boot script is decided (never per read). In a shared store every
/// server reads the same files: always. In a replicated store only when
/// this server's copies of the version and of every frozen version below
/// it are verified (their bytes hashed to the version's content hash), so
/// a missing, half-copied or corrupt copy is never served: the refusal
/// names the version and the state of this server's copy, and the client
/// goes to another server. Costs one query (the store kind is kept for a
/// couple of seconds).
/// </summary>
public sealed class StoreGate(AdminSite site, Func<long?> serverId, TimeProvider? clock = null)
{
    private static readonly TimeSpan s_kindLifetime = TimeSpan.FromSeconds(2);
    private readonly TimeProvider _clock = clock ?? site.Clock;
    private readonly Lock _lock = new();
    private StoreKind _kind;
    private DateTimeOffset _kindRead = DateTimeOffset.MinValue;

    /// <summary>The site's store kind, read again when older than two seconds.</summary>
    public async Task<StoreKind> KindAsync(CancellationToken cancellationToken = default)
    {
        var now = _clock.GetUtcNow();
        lock (_lock)
        {
            if (now - _kindRead < s_kindLifetime)
            {
                return _kind;
            }
        }

        var kind = await new StoreAdmin(site).KindAsync(cancellationToken);
        lock (_lock)
        {
            _kind = kind;
            _kindRead = now;
        }

        return kind;
    }

    /// <summary>Null when this server may serve <paramref name="version"/>; else why not.</summary>
    public async Task<SessionError?> RefusalAsync(VDisk vdisk, VDiskVersion version, IReadOnlyList<VDiskVersion> versions, CancellationToken cancellationToken = default)
    {
        if (await KindAsync(cancellationToken) != StoreKind.Replicated)
        {
            return null;
        }

        var chain = VersionChains.Of(version, versions).Where(v => VersionContent.IsFrozen(vdisk.AccessMode, v.Stage)).ToList();
        if (chain.Count == 0)
        {
            // A private image, or a maintenance version over nothing frozen:
            // written in place, served where it was made.
            return null;
        }

        if (serverId() is not { } server)
        {
            return Refused(vdisk, version, version, "not checked yet (this server has not registered)");
        }

        var states = await StatesAsync(server, chain, cancellationToken);
        foreach (var v in chain)
        {
            if (v.ContentHash is null)
            {
                return Refused(vdisk, version, v, "not hashed (run 'streamboot site set --store replicated' on the server that holds it)");
            }

            if (states.GetValueOrDefault(v.Id) != ReplicaState.Verified)
            {
                return Refused(vdisk, version, v, KebabCase.Of(states.TryGetValue(v.Id, out var state) ? state : ReplicaState.Missing));
            }
        }

        return null;
    }

    /// <summary>
    /// The servers (database ids) that hold a verified copy of the version
    /// and of every frozen version below it: where a boot of it may be sent.
    /// In a shared store, every server.
    /// </summary>
    public async Task<IReadOnlyList<long>> HoldersAsync(long versionId, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var version = await db.VDiskVersions.AsNoTracking().Include(v => v.VDisk).FirstOrDefaultAsync(v => v.Id == versionId, cancellationToken);
        if (version is null)
        {
            return [];
        }

        var servers = await db.Servers.AsNoTracking().Select(s => s.Id).ToListAsync(cancellationToken);
        if (await KindAsync(cancellationToken) != StoreKind.Replicated)
        {
            return servers;
        }

        var versions = await db.VDiskVersions.AsNoTracking().Where(v => v.VDiskId == version.VDiskId).ToListAsync(cancellationToken);
        var chain = VersionChains.Of(version, versions).Where(v => VersionContent.IsFrozen(version.VDisk!.AccessMode, v.Stage)).ToList();
        if (chain.Any(v => v.ContentHash is null))
        {
            return [];
        }

        var ids = chain.Select(v => v.Id).ToList();
        var verified = await db.VersionReplicas.AsNoTracking()
            .Where(r => ids.Contains(r.VersionId) && r.State == ReplicaState.Verified)
            .Select(r => new { r.ServerId, r.VersionId, r.HashSeen })
            .ToListAsync(cancellationToken);
        return [.. servers.Where(s => chain.All(v => verified.Exists(r => r.ServerId == s && r.VersionId == v.Id && r.HashSeen == v.ContentHash)))];
    }

    private async Task<Dictionary<long, ReplicaState>> StatesAsync(long server, List<VDiskVersion> chain, CancellationToken cancellationToken)
    {
        var ids = chain.Select(v => v.Id).ToList();
        await using var db = site.Database.CreateContext();
        var rows = await db.VersionReplicas.AsNoTracking()
            .Where(r => r.ServerId == server && ids.Contains(r.VersionId))
            .Select(r => new { r.VersionId, r.State, r.HashSeen })
            .ToListAsync(cancellationToken);
        // A verified row whose hash is not the version's (hashed again since) counts as unverified.
        return rows.ToDictionary(
            r => r.VersionId,
            r => r.State == ReplicaState.Verified && chain.Find(v => v.Id == r.VersionId)?.ContentHash != r.HashSeen ? ReplicaState.Missing : r.State);
    }

    private static SessionError Refused(VDisk vdisk, VDiskVersion version, VDiskVersion copy, string state) =>
        new(SessionRefusal.NotReplicated, copy.Id == version.Id
            ? $"vDisk '{vdisk.Name}' version {version.Number} is not served by this server: its copy here is {state}; another server of the farm serves it"
            : $"vDisk '{vdisk.Name}' version {version.Number} is not served by this server: version {copy.Number} below it is {state} here; another server of the farm serves it");
}
