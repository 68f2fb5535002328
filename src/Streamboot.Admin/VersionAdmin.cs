using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Import;

namespace Streamboot.Admin;

/// <summary>
/// vDisk versions, like PVS versioning: a chain of copy-on-write layers
/// (qcow2 overlays whose backing file is the version below). A new version
/// opens in maintenance, is promoted to test and then production, can be
/// rolled back, and the chain can be merged into a new base while clients
/// keep running on the versions they booted.
/// </summary>
public sealed class VersionAdmin(AdminSite site) : IVersionAdmin
{
    /// <summary>Opens version N+1 in maintenance: an empty qcow2 overlay on the newest version.</summary>
    public async Task<AdminResult<VDiskView>> NewAsync(string name, string? description = null, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var loaded = await LoadAsync(db, name, cancellationToken);
        if (!loaded.Ok)
        {
            return loaded.Error;
        }

        var vdisk = loaded.Value;
        if (vdisk.AccessMode == AccessMode.Private)
        {
            return AdminError.Refused($"vDisk '{vdisk.Name}' is a private image: its owner writes into it, so it has no versions");
        }

        var top = vdisk.Versions.MaxBy(v => v.Number)!;
        if (vdisk.Versions.FirstOrDefault(v => v.Stage == VersionStage.Maintenance) is { } open)
        {
            return AdminError.Refused($"version {open.Number} of '{vdisk.Name}' is still in maintenance; promote it ('streamboot vdisk version promote {vdisk.Name}') or roll it back first");
        }

        var folder = site.ResolveStorePath(vdisk.StorePath);
        var number = top.Number + 1;
        var fileName = $"{vdisk.Name}.{number}.qcow2";
        var file = Path.Combine(folder, fileName);
        try
        {
            // The backing name is relative (same folder), so the store can move.
            Qcow2Image.Create(file, vdisk.SizeBytes, backingFile: top.FileName, backingFormat: KebabCase.Of(top.Format));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return AdminError.Failed($"cannot create {file}: {e.Message}");
        }

        vdisk.Versions.Add(new VDiskVersion
        {
            Number = number,
            FileName = fileName,
            Format = ImageFormat.Qcow2,
            Stage = VersionStage.Maintenance,
            Description = string.IsNullOrEmpty(description) ? null : description,
            CreatedAt = site.UtcNow,
            BackingFile = top.FileName,
        });
        site.Audit(db, "vdisk.version.new", vdisk.Name, new { number, file = fileName, backing = top.FileName });
        if (await Persist.SaveAsync(db, _ => $"another admin opened version {number} of '{vdisk.Name}' at the same time", cancellationToken) is { } error)
        {
            BestEffort.DeleteFile(file);
            return error;
        }

        return await new VDiskAdmin(site).ShowAsync(vdisk.Name, cancellationToken);
    }

    /// <summary>Moves the newest unreleased version one stage on (maintenance, test, production), or straight to <paramref name="to"/>.</summary>
    public async Task<AdminResult<VDiskView>> PromoteAsync(string name, string? to = null, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var loaded = await LoadAsync(db, name, cancellationToken);
        if (!loaded.Ok)
        {
            return loaded.Error;
        }

        var vdisk = loaded.Value;
        var top = vdisk.Versions.MaxBy(v => v.Number)!;
        if (top.Stage == VersionStage.Production)
        {
            return AdminError.Refused($"version {top.Number} of '{vdisk.Name}' is already in production; open a new one with 'streamboot vdisk version new {vdisk.Name}'");
        }

        var target = top.Stage == VersionStage.Maintenance ? VersionStage.Test : VersionStage.Production;
        if (to is not null)
        {
            if (!KebabCase.TryParse(to, out target) || target == VersionStage.Maintenance)
            {
                return AdminError.Invalid($"'{to}' is not a stage to promote to; use test or production");
            }

            if (target <= top.Stage)
            {
                return AdminError.Refused($"version {top.Number} is already in {KebabCase.Of(top.Stage)}");
            }
        }

        if (top.Stage == VersionStage.Maintenance && await LiveSessionsAsync(db, vdisk.Id, [top.Number], cancellationToken) > 0)
        {
            return AdminError.Refused($"a maintenance device is still running version {top.Number} of '{vdisk.Name}'; shut it down so its last writes are in the version before promoting it");
        }

        var from = top.Stage;
        top.Stage = target;
        if (from == VersionStage.Maintenance && await new VDiskAdmin(site).HashIfReplicatedAsync(vdisk, top, cancellationToken) is { } hashError)
        {
            // Its file is frozen from here on: in a replicated store it is not promoted without its hash.
            return hashError;
        }

        site.Audit(db, "vdisk.version.promote", vdisk.Name, new { top.Number, from = KebabCase.Of(from), to = KebabCase.Of(target) });
        return await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } error
            ? error
            : await new VDiskAdmin(site).ShowAsync(vdisk.Name, cancellationToken);
    }

    /// <summary>Discards the newest version (never the base, never one a live session runs); clients go back to the one below.</summary>
    public async Task<AdminResult<VDiskView>> RollbackAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var loaded = await LoadAsync(db, name, cancellationToken);
        if (!loaded.Ok)
        {
            return loaded.Error;
        }

        var vdisk = loaded.Value;
        var top = vdisk.Versions.MaxBy(v => v.Number)!;
        if (vdisk.Versions.Count == 1)
        {
            return AdminError.Refused($"version {top.Number} is the only version of '{vdisk.Name}' (its base); there is nothing to roll back to");
        }

        var users = await LiveSessionsAsync(db, vdisk.Id, [top.Number], cancellationToken);
        if (users > 0)
        {
            return AdminError.Refused($"{users} client(s) are running version {top.Number} of '{vdisk.Name}' now (see 'streamboot session list'); it cannot be removed under them");
        }

        db.VDiskVersions.Remove(top);
        site.Audit(db, "vdisk.version.rollback", vdisk.Name, new { top.Number, stage = KebabCase.Of(top.Stage), file = top.FileName });
        if (await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } error)
        {
            return error;
        }

        RemoveFiles(vdisk, top);
        return await new VDiskAdmin(site).ShowAsync(vdisk.Name, cancellationToken);
    }

    /// <summary>
    /// Collapses the chain up to the newest version into a new base (version
    /// N+1, production, no backing file). Versions no live session runs are
    /// removed; the rest stay until their clients reboot (then run merge or
    /// prune again).
    /// </summary>
    public async Task<AdminResult<VDiskView>> MergeAsync(string name, IProgress<(long Done, long Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var loaded = await LoadAsync(db, name, cancellationToken);
        if (!loaded.Ok)
        {
            return loaded.Error;
        }

        var vdisk = loaded.Value;
        var top = vdisk.Versions.MaxBy(v => v.Number)!;
        if (top.Stage != VersionStage.Production)
        {
            return AdminError.Refused($"version {top.Number} of '{vdisk.Name}' is in {KebabCase.Of(top.Stage)}; promote it to production or roll it back before merging");
        }

        if (vdisk.Versions.Count == 1)
        {
            return AdminError.Refused($"'{vdisk.Name}' has one version; there is no chain to merge");
        }

        var folder = site.ResolveStorePath(vdisk.StorePath);
        var number = top.Number + 1;
        var fileName = $"{vdisk.Name}.{number}.qcow2";
        var file = Path.Combine(folder, fileName);
        try
        {
            Qcow2Image.Create(file, vdisk.SizeBytes);
            await using var source = ImageChain.Open(Path.Combine(folder, top.FileName), readOnly: true);
            await using var destination = Qcow2Image.Open(file, readOnly: false);
            var total = source.Size;
            await ImageCopier.CopyAsync(source, destination, progress is null ? null : new ProgressRelay<long>(done => progress.Report((done, total))), destinationReadsZero: true, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Storage.BlockDevices.BlockDeviceException)
        {
            BestEffort.DeleteFile(file);
            return AdminError.Failed($"cannot merge '{vdisk.Name}' into {file}: {e.Message}");
        }
        catch
        {
            BestEffort.DeleteFile(file);
            throw;
        }

        var merged = vdisk.Versions.Select(v => v.Number).ToList();
        var mergedVersion = new VDiskVersion
        {
            Number = number,
            FileName = fileName,
            Format = ImageFormat.Qcow2,
            Stage = VersionStage.Production,
            Description = $"merged from versions {merged.Min()}-{merged.Max()}",
            CreatedAt = site.UtcNow,
        };
        vdisk.Versions.Add(mergedVersion);
        if (await new VDiskAdmin(site).HashIfReplicatedAsync(vdisk, mergedVersion, cancellationToken) is { } hashError)
        {
            BestEffort.DeleteFile(file);
            return hashError;
        }

        site.Audit(db, "vdisk.version.merge", vdisk.Name, new { number, merged });
        if (await Persist.SaveAsync(db, _ => $"another admin changed the versions of '{vdisk.Name}' at the same time", cancellationToken) is { } error)
        {
            BestEffort.DeleteFile(file);
            return error;
        }

        await PruneAsync(vdisk.Name, cancellationToken);
        return await new VDiskAdmin(site).ShowAsync(vdisk.Name, cancellationToken);
    }

    /// <summary>Removes the versions below the newest base that no live session runs.</summary>
    public async Task<AdminResult<VDiskView>> PruneAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var loaded = await LoadAsync(db, name, cancellationToken);
        if (!loaded.Ok)
        {
            return loaded.Error;
        }

        var vdisk = loaded.Value;
        var folder = site.ResolveStorePath(vdisk.StorePath);
        var baseVersion = vdisk.Versions.Where(v => IsBase(folder, v)).MaxBy(v => v.Number)!;
        var below = vdisk.Versions.Where(v => v.Number < baseVersion.Number).ToList();
        // A live session on any old version needs every version beneath it too.
        var inUse = await db.Sessions
            .Where(s => s.VDiskId == vdisk.Id && s.EndedAt == null && s.VersionNumber < baseVersion.Number)
            .Select(s => s.VersionNumber)
            .ToListAsync(cancellationToken);
        var keepUpTo = inUse.Count == 0 ? 0 : inUse.Max();
        var remove = below.Where(v => v.Number > keepUpTo).ToList();
        if (remove.Count == 0)
        {
            return await new VDiskAdmin(site).ShowAsync(vdisk.Name, cancellationToken);
        }

        db.VDiskVersions.RemoveRange(remove);
        site.Audit(db, "vdisk.version.prune", vdisk.Name, new { removed = remove.Select(v => v.Number) });
        if (await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } error)
        {
            return error;
        }

        foreach (var version in remove)
        {
            RemoveFiles(vdisk, version);
        }

        return await new VDiskAdmin(site).ShowAsync(vdisk.Name, cancellationToken);
    }

    /// <summary>
    /// A removed version's files: its image, its boot profile and its
    /// devices' write caches (over an image that is gone, they are nothing).
    /// A running server ends the sessions and closes the images of versions
    /// whose rows are gone.
    /// </summary>
    private void RemoveFiles(VDisk vdisk, VDiskVersion version)
    {
        BestEffort.DeleteFile(Path.Combine(site.ResolveStorePath(vdisk.StorePath), version.FileName));
        BestEffort.DeleteFile(SiteFiles.ProfilePath(site.DataFolder, vdisk.Name, version.Number));
        foreach (var cache in SiteFiles.CachesOfVersion(site.DataFolder, vdisk.Name, version.Number, version.Id))
        {
            BestEffort.DeleteFile(cache);
        }
    }

    private static bool IsBase(string folder, VDiskVersion version) =>
        version.Format == ImageFormat.Raw || ImageChain.Describe(Path.Combine(folder, version.FileName)).Count == 1;

    private static async Task<AdminResult<VDisk>> LoadAsync(StreambootDbContext db, string name, CancellationToken cancellationToken)
    {
        var found = await Lookup.VDiskAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        await db.Entry(found.Value).Collection(v => v.Versions).LoadAsync(cancellationToken);
        return found.Value;
    }

    private static Task<int> LiveSessionsAsync(StreambootDbContext db, long vdiskId, int[] versions, CancellationToken cancellationToken) =>
        db.Sessions.CountAsync(s => s.VDiskId == vdiskId && s.EndedAt == null && versions.Contains(s.VersionNumber), cancellationToken);
}
