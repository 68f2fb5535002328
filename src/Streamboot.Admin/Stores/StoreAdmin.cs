using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin.Stores;

/// <summary>
/// The site's store: shared (one folder every server mounts) or replicated
/// (each server's own copies, verified by content hash), the secret servers
/// prove to each other when they copy, and who holds which copy.
/// </summary>
public sealed class StoreAdmin(AdminSite site) : IStoreAdmin
{
    /// <summary>The site's store kind (the one row of <c>site_settings</c>).</summary>
    public async Task<StoreKind> KindAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        return await db.SiteSettings.AsNoTracking().Where(s => s.Id == SiteSettings.RowId).Select(s => s.Store).FirstOrDefaultAsync(cancellationToken);
    }

    async Task<AdminResult<SiteInfoView>> IStoreAdmin.InfoAsync(CancellationToken cancellationToken) => await InfoAsync(cancellationToken);

    public async Task<SiteInfoView> InfoAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var settings = await db.SiteSettings.AsNoTracking().FirstOrDefaultAsync(s => s.Id == SiteSettings.RowId, cancellationToken);
        var versions = await db.VDiskVersions.AsNoTracking()
            .Select(v => new { v.Stage, v.ContentHash, v.VDisk!.AccessMode })
            .ToListAsync(cancellationToken);
        var frozen = versions.Where(v => VersionContent.IsFrozen(v.AccessMode, v.Stage)).ToList();
        return new SiteInfoView(
            settings?.Store ?? StoreKind.Shared,
            site.Database.Location.Describe(),
            site.DataFolder,
            await site.Database.SchemaVersionAsync(cancellationToken),
            await db.VDisks.CountAsync(cancellationToken),
            frozen.Count,
            frozen.Count(v => v.ContentHash is null),
            settings?.ChangedAt);
    }

    /// <summary>
    /// Sets the store kind. Going replicated hashes every frozen version that
    /// has no hash yet, from this data folder (run it on the server whose
    /// folder holds the vDisks): the hash is what every other server's copy
    /// is checked against.
    /// </summary>
    public async Task<AdminResult<SiteInfoView>> SetStoreAsync(string kindText, CancellationToken cancellationToken = default)
    {
        if (!KebabCase.TryParse<StoreKind>(kindText, out var kind))
        {
            return AdminError.Invalid($"'{kindText}' is not a store kind; use {KebabCase.Choices<StoreKind>()}");
        }

        await using var db = site.Database.CreateContext();
        var settings = await db.SiteSettings.FirstOrDefaultAsync(s => s.Id == SiteSettings.RowId, cancellationToken);
        if (settings is null)
        {
            settings = new SiteSettings { Id = SiteSettings.RowId };
            db.SiteSettings.Add(settings);
        }

        var hashed = 0;
        if (kind == StoreKind.Replicated)
        {
            var unhashed = await db.VDiskVersions.Include(v => v.VDisk)
                .Where(v => v.ContentHash == null && v.Stage != VersionStage.Maintenance && v.VDisk!.AccessMode == AccessMode.Standard)
                .OrderBy(v => v.VDiskId).ThenBy(v => v.Number)
                .ToListAsync(cancellationToken);
            foreach (var version in unhashed)
            {
                if (await VersionContent.RecordAsync(site, version.VDisk!, version, cancellationToken) is { } error)
                {
                    return error;
                }

                hashed++;
            }
        }

        var from = settings.Store;
        settings.Store = kind;
        settings.ChangedAt = site.UtcNow;
        site.Audit(db, "site.set", "store", new { from = KebabCase.Of(from), to = KebabCase.Of(kind), hashed });
        if (await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } saveError)
        {
            return saveError;
        }

        return await InfoAsync(cancellationToken);
    }

    /// <summary>
    /// The farm's secret, made by the first caller that needs it (256 random
    /// bits; of two servers racing, the first write wins and both read it).
    /// </summary>
    public async Task<byte[]> FarmSecretAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var fresh = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        await db.SiteSettings.Where(s => s.Id == SiteSettings.RowId && s.FarmSecret == null)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.FarmSecret, fresh), cancellationToken);
        var secret = await db.SiteSettings.AsNoTracking().Where(s => s.Id == SiteSettings.RowId).Select(s => s.FarmSecret).FirstOrDefaultAsync(cancellationToken)
            ?? throw new InvalidOperationException("the site_settings row is missing (migration 11 makes it)");
        return Convert.FromHexString(secret);
    }

    /// <summary>Each version of the vDisk with its hash and every server's copy.</summary>
    public async Task<AdminResult<VDiskReplicasView>> ReplicasAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.VDiskAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var vdisk = found.Value;
        var kind = await KindAsync(cancellationToken);
        var versions = await db.VDiskVersions.AsNoTracking().Where(v => v.VDiskId == vdisk.Id).OrderBy(v => v.Number).ToListAsync(cancellationToken);
        var ids = versions.Select(v => v.Id).ToList();
        var replicas = await db.VersionReplicas.AsNoTracking().Where(r => ids.Contains(r.VersionId)).ToListAsync(cancellationToken);
        var servers = await db.Servers.AsNoTracking().OrderBy(s => s.Name).Select(s => new { s.Id, s.Name }).ToListAsync(cancellationToken);
        return new VDiskReplicasView(vdisk.Name, kind, [.. versions.Select(v =>
        {
            var frozen = VersionContent.IsFrozen(vdisk.AccessMode, v.Stage);
            IReadOnlyList<ReplicaView> copies = !frozen || kind != StoreKind.Replicated
                ? []
                : [.. servers.Select(s => replicas.Find(r => r.VersionId == v.Id && r.ServerId == s.Id) is { } r
                    ? new ReplicaView(s.Name, r.State, r.HashSeen, r.CheckedAt, r.Message)
                    : new ReplicaView(s.Name, ReplicaState.Missing, null, null, null))];
            return new VersionReplicasView(v.Number, v.Stage, v.ContentHash, v.ContentLength, frozen, copies);
        })]);
    }
}
