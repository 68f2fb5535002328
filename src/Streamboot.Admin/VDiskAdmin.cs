using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Storage.Formats.Raw;

namespace Streamboot.Admin;

/// <summary>vDisks: image files in the data folder's store and their rows in the database, kept in step.</summary>
public sealed class VDiskAdmin(AdminSite site)
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
        CancellationToken cancellationToken = default)
    {
        if (!Names.TryValidateObjectName("vDisk", name, out var nameError))
        {
            return AdminError.Invalid(nameError);
        }

        if (sizeBytes < MinimumSize)
        {
            return AdminError.Invalid($"a vDisk of {ByteSize.Format(sizeBytes)} is too small; the minimum is {ByteSize.Format(MinimumSize)}");
        }

        if (sizeBytes % SectorSize != 0)
        {
            return AdminError.Invalid($"a vDisk size must be a whole number of {SectorSize}-byte sectors; {sizeBytes} bytes is not");
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
        var fileName = $"{name}.1.raw";
        var file = Path.Combine(folder, fileName);
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            return AdminError.Refused($"the store folder {folder} already holds files (left from an earlier vDisk?); move them away or choose another name");
        }

        var createdFolder = !Directory.Exists(folder);
        try
        {
            Directory.CreateDirectory(folder);
            RawImage.CreateSparse(file, sizeBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Cleanup(file, folder, createdFolder);
            return AdminError.Failed($"cannot create the image {file}: {e.Message}");
        }

        var now = site.UtcNow;
        var vdisk = new VDisk
        {
            Name = name,
            Description = string.IsNullOrEmpty(description) ? null : description,
            StorePath = storePath,
            SizeBytes = sizeBytes,
            Format = ImageFormat.Raw,
            AccessMode = access,
            WriteCacheMode = cache,
            CreatedAt = now,
        };
        vdisk.Versions.Add(new VDiskVersion
        {
            Number = 1,
            FileName = fileName,
            Format = ImageFormat.Raw,
            Stage = VersionStage.Production,
            Description = "base",
            CreatedAt = now,
        });
        db.VDisks.Add(vdisk);
        site.Audit(db, "vdisk.create", name, new { sizeBytes, access = KebabCase.Of(access), writeCache = KebabCase.Of(cache), file });

        AdminError? error;
        try
        {
            error = await Persist.SaveAsync(db, _ => $"a vDisk named '{name}' already exists", cancellationToken);
        }
        catch
        {
            Cleanup(file, folder, createdFolder);
            throw;
        }

        if (error is not null)
        {
            // Nothing half-made: the file goes with the row that failed.
            Cleanup(file, folder, createdFolder);
            return error;
        }

        return await ShowAsync(name, cancellationToken);
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
    /// Deletes the vDisk and its image files. Refused while any client streams
    /// it, and while devices are assigned unless <paramref name="force"/>.
    /// </summary>
    public async Task<AdminResult<VDiskView>> DeleteAsync(string name, bool force, bool keepFiles = false, CancellationToken cancellationToken = default)
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
        db.VDisks.Remove(vdisk);
        site.Audit(db, "vdisk.delete", vdisk.Name, new { force, keepFiles, assignedTo = view.AssignedDevices });
        if (await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } error)
        {
            return error;
        }

        // Files go only after the rows are gone: a failed delete leaves a working vDisk.
        if (!keepFiles)
        {
            var folder = site.ResolveStorePath(vdisk.StorePath);
            foreach (var version in vdisk.Versions)
            {
                Cleanup(Path.Combine(folder, version.FileName), folder, removeFolder: false);
            }

            Cleanup("", folder, removeFolder: true);
        }

        return view;
    }

    internal static AdminError? ModeMismatch(AccessMode access, WriteCacheMode cache) => (access, cache) switch
    {
        (AccessMode.Private, not WriteCacheMode.None) =>
            AdminError.Invalid($"a private image takes its owner's writes itself; its write cache must be none, not {KebabCase.Of(cache)}"),
        (AccessMode.Standard, WriteCacheMode.None) =>
            AdminError.Invalid("a standard image is shared and read-only, so each client needs a write cache (server-disk, server-ram or client-disk); for a single writer use --access private"),
        _ => null,
    };

    private static void Cleanup(string file, string folder, bool removeFolder)
    {
        try
        {
            if (file.Length > 0 && File.Exists(file))
            {
                File.Delete(file);
            }

            if (removeFolder && Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
            {
                Directory.Delete(folder);
            }
        }
        catch (IOException)
        {
            // Best effort: the error that brought us here is the one to report.
        }
        catch (UnauthorizedAccessException)
        {
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
        v.CreatedAt);
}
