using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>Collections: groups of devices with a naming pattern, a default vDisk and an unknown-device policy.</summary>
public sealed class CollectionAdmin(AdminSite site) : ICollectionAdmin
{
    public const string DefaultCollection = "default";

    public async Task<AdminResult<CollectionView>> AddAsync(string name, CollectionChanges fields, CancellationToken cancellationToken = default)
    {
        if (!Names.TryValidateObjectName("collection", name, out var nameError))
        {
            return AdminError.Invalid(nameError);
        }

        await using var db = site.Database.CreateContext();
        var collection = new Collection
        {
            Name = name,
            NamingPattern = fields.NamingPattern ?? $"{name.ToUpperInvariant()}-###",
            CreatedAt = site.UtcNow,
        };
        var error = await ApplyAsync(db, collection, fields with { Name = null }, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        db.Collections.Add(collection);
        var previous = await UnknownHolderAsync(db, collection, fields, cancellationToken);
        site.Audit(db, "collection.add", name, new { fields, tookUnknownFrom = previous });
        return await SaveAsync(db, collection, fields, _ => $"a collection named '{name}' already exists", cancellationToken) is { } saveError
            ? saveError
            : Took(await ShowAsync(name, cancellationToken), previous);
    }

    public async Task<IReadOnlyList<CollectionView>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var rows = await db.Collections
            .OrderBy(c => c.Name)
            .Select(c => new { c, DefaultVDisk = c.DefaultVDisk != null ? c.DefaultVDisk.Name : null, Devices = c.Devices.Count })
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => ToView(r.c, r.DefaultVDisk, r.Devices))];
    }

    async Task<AdminResult<IReadOnlyList<CollectionView>>> ICollectionAdmin.ListAsync(CancellationToken cancellationToken) =>
        AdminResult.Of(await ListAsync(cancellationToken));

    public async Task<AdminResult<CollectionView>> ShowAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.CollectionAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var devices = await db.Devices.CountAsync(d => d.CollectionId == found.Value.Id, cancellationToken);
        return ToView(found.Value, found.Value.DefaultVDisk?.Name, devices);
    }

    public async Task<AdminResult<CollectionView>> SetAsync(string name, CollectionChanges changes, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.CollectionAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var collection = found.Value;
        if (changes.Name is not null)
        {
            if (!Names.TryValidateObjectName("collection", changes.Name, out var nameError))
            {
                return AdminError.Invalid(nameError);
            }

            if (IsDefault(collection) && !IsDefault(changes.Name))
            {
                return AdminError.Refused($"collection '{DefaultCollection}' is where devices added without --collection go, so it keeps its name; to give devices another home, add a collection and name it with 'device add --collection NAME'");
            }

            collection.Name = changes.Name;
        }

        var error = await ApplyAsync(db, collection, changes, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        var previous = await UnknownHolderAsync(db, collection, changes, cancellationToken);
        site.Audit(db, "collection.set", name, new { changes, tookUnknownFrom = previous });
        return await SaveAsync(db, collection, changes, _ => $"a collection named '{changes.Name}' already exists", cancellationToken) is { } saveError
            ? saveError
            : Took(await ShowAsync(collection.Name, cancellationToken), previous);
    }

    public async Task<AdminResult<CollectionView>> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.CollectionAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var collection = found.Value;
        var devices = await db.Devices.CountAsync(d => d.CollectionId == collection.Id, cancellationToken);
        if (devices > 0)
        {
            return AdminError.Refused($"collection '{collection.Name}' still has {devices} device(s); move them with 'streamboot device set DEVICE --collection OTHER' or delete them first");
        }

        if (IsDefault(collection))
        {
            return AdminError.Refused($"collection '{DefaultCollection}' is where devices added without --collection go; it cannot be deleted");
        }

        var view = ToView(collection, collection.DefaultVDisk?.Name, 0);
        db.Collections.Remove(collection);
        site.Audit(db, "collection.delete", collection.Name);
        return await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } saveError ? saveError : view;
    }

    private static bool IsDefault(Collection collection) => IsDefault(collection.Name);

    private static bool IsDefault(string name) => string.Equals(name, DefaultCollection, StringComparison.OrdinalIgnoreCase);

    /// <summary>The collection that receives unknown machines now, when this change takes the role from it.</summary>
    private static async Task<string?> UnknownHolderAsync(StreambootDbContext db, Collection collection, CollectionChanges changes, CancellationToken cancellationToken) =>
        changes.ReceivesUnknown == true
            ? await db.Collections.Where(c => c.ReceivesUnknown && c.Id != collection.Id).Select(c => c.Name).FirstOrDefaultAsync(cancellationToken)
            : null;

    private static AdminResult<CollectionView> Took(AdminResult<CollectionView> shown, string? previous) =>
        shown.Ok && previous is not null ? shown.Value with { TookUnknownFrom = previous } : shown;

    /// <summary>
    /// Saves; a collection that takes over unknown devices first takes the
    /// role from whichever had it, in the same transaction, so the unique
    /// index (one at a time) never sees two.
    /// </summary>
    private static async Task<AdminError?> SaveAsync(StreambootDbContext db, Collection collection, CollectionChanges changes, Func<string, string> describe, CancellationToken cancellationToken)
    {
        if (changes.ReceivesUnknown != true)
        {
            if (changes.ReceivesUnknown == false)
            {
                collection.ReceivesUnknown = false;
            }

            return await Persist.SaveAsync(db, describe, cancellationToken);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Collections.Where(c => c.ReceivesUnknown && c.Id != collection.Id)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.ReceivesUnknown, false), cancellationToken);
        collection.ReceivesUnknown = true;
        if (await Persist.SaveAsync(db, describe, cancellationToken) is { } error)
        {
            return error;
        }

        await transaction.CommitAsync(cancellationToken);
        return null;
    }

    private static async Task<AdminError?> ApplyAsync(StreambootDbContext db, Collection collection, CollectionChanges changes, CancellationToken cancellationToken)
    {
        if (changes.NamingPattern is not null)
        {
            if (!NamingPattern.TryParse(changes.NamingPattern, out _, out var patternError))
            {
                return AdminError.Invalid(patternError);
            }

            collection.NamingPattern = changes.NamingPattern;
        }
        else if (!NamingPattern.TryParse(collection.NamingPattern, out _, out var patternError))
        {
            // The pattern made from the collection's name is not usable (a name with '.' or '_').
            return AdminError.Invalid($"{patternError}; give one with --pattern");
        }

        if (changes.BootProtocol is { } protocolText)
        {
            if (!BootProtocols.TryParse(protocolText, out var protocol))
            {
                return AdminError.Invalid(BootProtocols.Invalid(protocolText));
            }

            collection.BootProtocol = protocol;
        }

        if (changes.BootLoader is { } loaderText)
        {
            if (!BootLoaders.TryParse(loaderText, "auto", out var loader))
            {
                return AdminError.Invalid(BootLoaders.Invalid(loaderText, "auto (unset)"));
            }

            collection.BootLoader = loader;
        }

        if (changes.UnknownDevicePolicy is not null)
        {
            if (!KebabCase.TryParse<UnknownDevicePolicy>(changes.UnknownDevicePolicy, out var policy))
            {
                return AdminError.Invalid($"'{changes.UnknownDevicePolicy}' is not a policy for unknown devices; use one of: {KebabCase.Choices<UnknownDevicePolicy>()}");
            }

            collection.UnknownDevicePolicy = policy;
        }

        if (changes.Description is not null)
        {
            collection.Description = changes.Description.Length == 0 ? null : changes.Description;
        }

        if (changes.DefaultVDisk is not null)
        {
            if (changes.DefaultVDisk.Length == 0 || string.Equals(changes.DefaultVDisk, "none", StringComparison.OrdinalIgnoreCase))
            {
                collection.DefaultVDiskId = null;
                collection.DefaultVDisk = null;
            }
            else
            {
                var vdisk = await Lookup.VDiskAsync(db, changes.DefaultVDisk, cancellationToken);
                if (!vdisk.Ok)
                {
                    return vdisk.Error;
                }

                collection.DefaultVDisk = vdisk.Value;
            }
        }

        return null;
    }

    private static CollectionView ToView(Collection c, string? defaultVDisk, int devices) =>
        new(c.Name, c.Description, c.NamingPattern, c.UnknownDevicePolicy, c.ReceivesUnknown, defaultVDisk, devices, c.CreatedAt, c.BootProtocol, c.BootLoader);
}
