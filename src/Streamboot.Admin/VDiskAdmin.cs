using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Stores;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Import;

namespace Streamboot.Admin;

/// <summary>vDisks: image files in the data folder's store and their rows in the database, kept in step.</summary>
public sealed class VDiskAdmin(AdminSite site) : IVDiskAdmin
{
    /// <summary>Smallest disk worth booting: room for a partition table and a boot loader.</summary>
    public const long MinimumSize = 1024 * 1024;

    /// <summary>Sizes are whole 512-byte sectors, as every block protocol and partition table counts them.</summary>
    public const int SectorSize = 512;

    public async Task<AdminResult<VDiskView>> CreateAsync(
        string name,
        long sizeBytes,
        string? accessMode = null,
        string? writeCacheMode = null,
        string? description = null,
        CancellationToken cancellationToken = default,
        string? format = null)
    {
        var plan = await PlanAsync(name, accessMode, writeCacheMode, format ?? "raw", cancellationToken);
        if (!plan.Ok)
        {
            return plan.Error;
        }

        if (sizeBytes < MinimumSize)
        {
            return AdminError.Invalid($"a vDisk of {ByteSize.Format(sizeBytes)} is too small; the minimum is {ByteSize.Format(MinimumSize)}");
        }

        if (sizeBytes % SectorSize != 0)
        {
            return AdminError.Invalid($"a vDisk size must be a whole number of {SectorSize}-byte sectors; {sizeBytes} bytes is not");
        }

        var p = plan.Value;
        try
        {
            Directory.CreateDirectory(p.Folder);
            if (p.Format == ImageFormat.Qcow2)
            {
                Qcow2Image.Create(p.File, sizeBytes);
            }
            else
            {
                RawImage.CreateSparse(p.File, sizeBytes);
            }
        }
        catch (ArgumentOutOfRangeException)
        {
            // .NET's word for EFBIG: the file system's largest file is smaller.
            Cleanup(p.File, p.Folder, p.CreatedFolder);
            return AdminError.Failed($"a file of {ByteSize.Format(sizeBytes)} ({sizeBytes} bytes) is too large for the file system of {p.Folder}; choose a smaller --size, or keep the vDisk where larger files fit");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Cleanup(p.File, p.Folder, p.CreatedFolder);
            return AdminError.Failed($"cannot create the image {p.File}: {e.Message}");
        }

        return await RegisterAsync(p, sizeBytes, description, "vdisk.create", new { sizeBytes }, cancellationToken);
    }

    /// <summary>
    /// Imports a disk image as a new vDisk (its version 1). Raw and qcow2
    /// (with any backing chain, flattened) are read natively; VHD, VHDX, VMDK
    /// and VDI are converted with qemu-img. The new image is qcow2 unless
    /// <paramref name="format"/> says raw.
    /// </summary>
    public async Task<AdminResult<VDiskView>> ImportAsync(
        string name,
        string source,
        string? sourceFormat = null,
        string? format = null,
        string? accessMode = null,
        string? writeCacheMode = null,
        string? description = null,
        IProgress<(long Done, long Total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (!File.Exists(source))
        {
            return AdminError.NotFound($"no file {source} to import");
        }

        ImportFormat detected;
        try
        {
            detected = ImageImporter.Detect(source);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return AdminError.Failed($"cannot read {source}: {e.Message}");
        }

        var length = new FileInfo(source).Length;
        if (sourceFormat is null && detected == ImportFormat.Raw && length % SectorSize != 0)
        {
            // No signature of a known format, and no whole disk either: a text file, an archive, a typo.
            return AdminError.Invalid($"{source} is no disk image Streamboot knows (raw, qcow2, VHD, VHDX, VMDK, VDI) and not a whole number of {SectorSize}-byte sectors ({length} bytes); if it is a raw disk, say so with --source-format raw (its last sector is then padded with zeros)");
        }

        var sourceKind = detected;
        if (sourceFormat is not null)
        {
            if (!Enum.TryParse(sourceFormat.Trim(), ignoreCase: true, out sourceKind) || !Enum.IsDefined(sourceKind) || char.IsDigit(sourceFormat.Trim()[0]))
            {
                return AdminError.Invalid($"'{sourceFormat}' is not an image format Streamboot imports; use raw, qcow2, vhd, vhdx, vmdk or vdi");
            }

            // Raw and qcow2 are read natively, which tells them apart by signature only.
            if (sourceKind is ImportFormat.Raw or ImportFormat.Qcow2 && sourceKind != detected)
            {
                return AdminError.Invalid($"{source} is {detected.ToString().ToLowerInvariant()}, not {sourceKind.ToString().ToLowerInvariant()}; leave out --source-format to detect it");
            }
        }

        var plan = await PlanAsync(name, accessMode, writeCacheMode, format ?? "qcow2", cancellationToken);
        if (!plan.Ok)
        {
            return plan.Error;
        }

        var p = plan.Value;
        var target = p.Format;
        long size;
        try
        {
            Directory.CreateDirectory(p.Folder);
            long total = 0;
            var bytes = progress is null ? null : new ProgressRelay<long>(done => progress.Report((done, total)));
            if (sourceKind is ImportFormat.Raw or ImportFormat.Qcow2)
            {
                total = ImageChain.ReadVirtualSize(source);
                await ImageImporter.ImportAsync(source, p.File, target, bytes, cancellationToken: cancellationToken);
            }
            else
            {
                total = new FileInfo(source).Length;
                await ImageImporter.QemuImgConvertAsync(source, sourceKind, p.File, target, bytes, cancellationToken: cancellationToken);
            }

            size = ImageChain.ReadVirtualSize(p.File);
            if (size % SectorSize != 0)
            {
                // Block protocols count whole sectors; qemu-img keeps a ragged size as it is.
                throw new ImageImportException($"the imported disk is {size} bytes, not a whole number of {SectorSize}-byte sectors");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ImageImportException or BlockDeviceException)
        {
            Cleanup(p.File, p.Folder, p.CreatedFolder);
            return AdminError.Failed($"cannot import {source}: {e.Message}");
        }
        catch
        {
            Cleanup(p.File, p.Folder, p.CreatedFolder);
            throw;
        }

        return await RegisterAsync(p, size, description, "vdisk.import", new { source, sourceFormat = sourceKind.ToString().ToLowerInvariant(), sizeBytes = size }, cancellationToken);
    }

    /// <summary>What a new vDisk will be, checked before any file is made.</summary>
    private sealed record NewVDiskPlan(string Name, AccessMode Access, WriteCacheMode Cache, ImageFormat Format, string StorePath, string Folder, string FileName, string File, bool CreatedFolder);

    private async Task<AdminResult<NewVDiskPlan>> PlanAsync(string name, string? accessMode, string? writeCacheMode, string format, CancellationToken cancellationToken)
    {
        if (!Names.TryValidateObjectName("vDisk", name, out var nameError))
        {
            return AdminError.Invalid(nameError);
        }

        if (!KebabCase.TryParse<ImageFormat>(format, out var imageFormat))
        {
            return AdminError.Invalid($"'{format}' is not a vDisk format; use raw or qcow2 (other formats are imported with 'streamboot vdisk import')");
        }

        var access = AccessMode.Standard;
        if (accessMode is not null && !KebabCase.TryParse(accessMode, out access))
        {
            return AdminError.Invalid($"'{accessMode}' is not an access mode; use one of: {KebabCase.Choices<AccessMode>()}");
        }

        var cache = access == AccessMode.Private ? WriteCacheMode.None : WriteCacheMode.ServerDisk;
        if (writeCacheMode is not null && !KebabCase.TryParse(writeCacheMode, out cache))
        {
            return AdminError.Invalid($"'{writeCacheMode}' is not a write-cache mode; use one of: {KebabCase.Choices<WriteCacheMode>()}");
        }

        if (ModeMismatch(access, cache) is { } mismatch)
        {
            return mismatch;
        }

        await using var db = site.Database.CreateContext();
        var lower = name.ToLowerInvariant();
        if (await db.VDisks.AnyAsync(v => v.Name.ToLower() == lower, cancellationToken))
        {
            return AdminError.Conflict($"a vDisk named '{name}' already exists; 'streamboot vdisk show {name}' shows it");
        }

        var storePath = Path.Combine("vdisks", name);
        var folder = site.ResolveStorePath(storePath);
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            return AdminError.Refused($"the store folder {folder} already holds files (left from an earlier vDisk?); move them away or choose another name");
        }

        var fileName = $"{name}.1.{KebabCase.Of(imageFormat)}";
        return new NewVDiskPlan(name, access, cache, imageFormat, storePath, folder, fileName, Path.Combine(folder, fileName), !Directory.Exists(folder));
    }

    /// <summary>Records the vDisk and its base version; on failure the image goes too (nothing half-made).</summary>
    private async Task<AdminResult<VDiskView>> RegisterAsync(NewVDiskPlan p, long sizeBytes, string? description, string action, object details, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var now = site.UtcNow;
        var vdisk = new VDisk
        {
            Name = p.Name,
            Description = string.IsNullOrEmpty(description) ? null : description,
            StorePath = p.StorePath,
            SizeBytes = sizeBytes,
            Format = p.Format,
            AccessMode = p.Access,
            WriteCacheMode = p.Cache,
            CreatedAt = now,
        };
        vdisk.Versions.Add(new VDiskVersion
        {
            Number = 1,
            FileName = p.FileName,
            Format = p.Format,
            Stage = VersionStage.Production,
            Description = "base",
            CreatedAt = now,
        });
        db.VDisks.Add(vdisk);
        if (await HashIfReplicatedAsync(vdisk, vdisk.Versions.First(), cancellationToken) is { } hashError)
        {
            Cleanup(p.File, p.Folder, p.CreatedFolder);
            return hashError;
        }

        site.Audit(db, action, p.Name, new { details, format = KebabCase.Of(p.Format), access = KebabCase.Of(p.Access), writeCache = KebabCase.Of(p.Cache), file = p.File });

        AdminError? error;
        try
        {
            error = await Persist.SaveAsync(db, _ => $"a vDisk named '{p.Name}' already exists", cancellationToken);
        }
        catch
        {
            Cleanup(p.File, p.Folder, p.CreatedFolder);
            throw;
        }

        if (error is not null)
        {
            Cleanup(p.File, p.Folder, p.CreatedFolder);
            return error;
        }

        return await ShowAsync(p.Name, cancellationToken);
    }

    /// <summary>
    /// In a replicated store, a frozen version's file is hashed as it is
    /// frozen: the hash is what every server's copy is checked against. (A
    /// shared store hashes nothing; <c>site set --store replicated</c> hashes
    /// what is missing then.)
    /// </summary>
    internal async Task<AdminError?> HashIfReplicatedAsync(VDisk vdisk, VDiskVersion version, CancellationToken cancellationToken) =>
        VersionContent.IsFrozen(vdisk.AccessMode, version.Stage) && await new StoreAdmin(site).KindAsync(cancellationToken) == StoreKind.Replicated
            ? await VersionContent.RecordAsync(site, vdisk, version, cancellationToken)
            : null;

    /// <summary>The folder that holds a vDisk's files (its images, and boot files in <c>boot/</c>), or null when there is no such vDisk.</summary>
    public async Task<string?> StoreFolderAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.VDiskAsync(db, name, cancellationToken);
        return found.Ok ? site.ResolveStorePath(found.Value.StorePath) : null;
    }

    public async Task<IReadOnlyList<VDiskView>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var vdisks = await db.VDisks
            .Include(v => v.Versions)
            .Include(v => v.Assignments).ThenInclude(a => a.Device)
            .OrderBy(v => v.Name)
            .AsSplitQuery()
            .ToListAsync(cancellationToken);
        return [.. vdisks.Select(ToView)];
    }

    async Task<AdminResult<IReadOnlyList<VDiskView>>> IVDiskAdmin.ListAsync(CancellationToken cancellationToken) =>
        AdminResult.Of(await ListAsync(cancellationToken));

    public async Task<AdminResult<VDiskView>> ShowAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.VDiskAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        await db.Entry(found.Value).Collection(v => v.Versions).LoadAsync(cancellationToken);
        await db.Entry(found.Value).Collection(v => v.Assignments).Query().Include(a => a.Device).LoadAsync(cancellationToken);
        return ToView(found.Value);
    }

    /// <summary>
    /// Changes what may change of a vDisk in use: its description, its
    /// write-cache mode (for boots that start from now), and whether anyone
    /// may read its production version without a boot's key.
    /// </summary>
    public async Task<AdminResult<VDiskView>> SetAsync(string name, VDiskChanges changes, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.VDiskAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var vdisk = found.Value;
        if (changes.WriteCacheMode is { } cacheText)
        {
            if (!KebabCase.TryParse<WriteCacheMode>(cacheText, out var cache))
            {
                return AdminError.Invalid($"unknown write-cache mode '{cacheText}'; use server-disk, server-ram, client-disk, client-ram or none");
            }

            if (ModeMismatch(vdisk.AccessMode, cache) is { } mismatch)
            {
                return mismatch;
            }

            vdisk.WriteCacheMode = cache;
        }

        if (changes.Description is not null)
        {
            vdisk.Description = changes.Description.Length == 0 ? null : changes.Description;
        }

        if (changes.AnonymousReads is { } anonymous)
        {
            vdisk.AnonymousReads = anonymous;
        }

        if (changes.BootProtocol is { } protocolText)
        {
            if (!BootProtocols.TryParse(protocolText, out var protocol))
            {
                return AdminError.Invalid(BootProtocols.Invalid(protocolText));
            }

            vdisk.BootProtocol = protocol;
        }

        site.Audit(db, "vdisk.set", vdisk.Name, changes);
        if (await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } error)
        {
            return error;
        }

        return await ShowAsync(vdisk.Name, cancellationToken);
    }

    /// <summary>
    /// Deletes the vDisk and everything the site keeps for it: its images,
    /// its boot files, its devices' write caches and its boot profiles (the
    /// images and boot files stay with <paramref name="keepFiles"/>), its
    /// assignments (only with <paramref name="force"/>), and its place as
    /// a collection's default vDisk; the result says what else changed.
    /// Refused while any device streams it. A running server notices the
    /// deletion and ends the read-only views of it that are still open.
    /// </summary>
    public async Task<AdminResult<VDiskDeletionView>> DeleteAsync(string name, bool force, bool keepFiles = false, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.VDiskAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var vdisk = found.Value;
        await db.Entry(vdisk).Collection(v => v.Versions).LoadAsync(cancellationToken);
        await db.Entry(vdisk).Collection(v => v.Assignments).Query().Include(a => a.Device).LoadAsync(cancellationToken);
        if (await Lookup.HasLiveSessionsAsync(db, vdisk.Id, cancellationToken))
        {
            return AdminError.Refused($"vDisk '{vdisk.Name}' is being streamed now (see 'streamboot session list'); shut those clients down first");
        }

        if (vdisk.Assignments.Count > 0 && !force)
        {
            var devices = string.Join(", ", vdisk.Assignments.Select(a => a.Device?.Name).Order(StringComparer.Ordinal));
            return AdminError.Refused($"vDisk '{vdisk.Name}' is assigned to {vdisk.Assignments.Count} device(s) ({devices}); unassign it, or delete with --force to remove the assignments too");
        }

        var view = ToView(vdisk);
        var collections = await db.Collections.Where(c => c.DefaultVDiskId == vdisk.Id).OrderBy(c => c.Name).ToListAsync(cancellationToken);
        foreach (var collection in collections)
        {
            collection.DefaultVDiskId = null;
        }

        var cleared = collections.Select(c => c.Name).ToList();
        db.VDisks.Remove(vdisk);
        site.Audit(db, "vdisk.delete", vdisk.Name, new { force, keepFiles, assignedTo = view.AssignedDevices, clearedDefaultOf = cleared });
        if (await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } error)
        {
            return error;
        }

        // Files go only after the rows are gone: a failed delete leaves a working vDisk.
        var removed = RemoveFiles(vdisk, keepFiles, out var left);
        return new VDiskDeletionView(view, view.AssignedDevices, cleared, removed, keepFiles, left);
    }

    /// <summary>Removes a deleted vDisk's files; returns how many went, and the store's files that were not ours.</summary>
    private int RemoveFiles(VDisk vdisk, bool keepImages, out IReadOnlyList<string> left)
    {
        var removed = 0;
        foreach (var file in SiteFiles.Profiles(site.DataFolder, vdisk.Name))
        {
            removed += BestEffort.DeleteFile(file) ? 1 : 0;
        }

        removed += BestEffort.DeleteFolder(SiteFiles.CacheFolder(site.DataFolder, vdisk.Name));
        var folder = site.ResolveStorePath(vdisk.StorePath);
        left = [];
        if (keepImages)
        {
            return removed;
        }

        foreach (var version in vdisk.Versions)
        {
            removed += BestEffort.DeleteFile(Path.Combine(folder, version.FileName)) ? 1 : 0;
        }

        removed += BestEffort.DeleteFolder(Path.Combine(folder, SiteFiles.BootFolder));
        BestEffort.RemoveFolderIfEmpty(folder);
        if (Directory.Exists(folder))
        {
            left = [.. Directory.EnumerateFileSystemEntries(folder).Order(StringComparer.Ordinal)];
        }

        return removed;
    }

    internal static AdminError? ModeMismatch(AccessMode access, WriteCacheMode cache) => (access, cache) switch
    {
        (AccessMode.Private, not WriteCacheMode.None) =>
            AdminError.Invalid($"a private image takes its owner's writes itself; its write cache must be none, not {KebabCase.Of(cache)}"),
        (AccessMode.Standard, WriteCacheMode.None) =>
            AdminError.Invalid("a standard image is shared and read-only, so each client needs a write cache (server-disk, server-ram, client-disk or client-ram); for a single writer use --access private"),
        _ => null,
    };

    private static void Cleanup(string file, string folder, bool removeFolder)
    {
        BestEffort.DeleteFile(file);
        if (removeFolder)
        {
            BestEffort.RemoveFolderIfEmpty(folder);
        }
    }

    private VDiskView ToView(VDisk v) => new(
        v.Name,
        v.Description,
        v.Format,
        v.SizeBytes,
        v.AccessMode,
        v.WriteCacheMode,
        site.ResolveStorePath(v.StorePath),
        [.. v.Versions.OrderBy(x => x.Number).Select(x => new VDiskVersionView(x.Number, x.Stage, x.Format, x.FileName, x.Description, x.CreatedAt))],
        [.. v.Assignments.Select(a => a.Device?.Name ?? "").Order(StringComparer.OrdinalIgnoreCase)],
        v.CreatedAt,
        v.AnonymousReads,
        v.BootProtocol);
}
