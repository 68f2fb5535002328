using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>Devices: the client machines, by MAC, with the name and machine id they boot under.</summary>
public sealed class DeviceAdmin(AdminSite site) : IDeviceAdmin
{
    // Two admins (or auto-registering servers) may pick the same next name;
    // the unique index refuses one, which then takes the next number.
    private const int NameAttempts = 8;

    public Task<AdminResult<DeviceView>> AddAsync(string mac, DeviceChanges fields, CancellationToken cancellationToken = default) =>
        AddAsync(mac, fields, assignVDiskId: null, cancellationToken);

    /// <summary>
    /// Adds a device, with <paramref name="assignVDiskId"/> assigned as its
    /// default in the same transaction (registration at boot), or else its
    /// collection's default vDisk, when the collection has one.
    /// </summary>
    public async Task<AdminResult<DeviceView>> AddAsync(string mac, DeviceChanges fields, long? assignVDiskId, CancellationToken cancellationToken)
    {
        if (!MacAddress.TryParse(mac, out var address))
        {
            return AdminError.Invalid($"'{mac}' is not a MAC address; write it as 52:54:00:12:34:56, 52-54-00-12-34-56 or 525400123456");
        }

        if (address.WhyNotACard() is { } notACard)
        {
            return AdminError.Invalid($"{notACard}; give the client's own MAC (its firmware shows it at boot, 'ip link' shows it in Linux)");
        }

        if (fields.Name is not null && !Names.TryValidateHostName(fields.Name, out var nameError))
        {
            return AdminError.Invalid(nameError);
        }

        for (var attempt = 0; ; attempt++)
        {
            // A server registering a storm of new machines writes them one after another.
            using var turn = await site.Database.WriteTurnAsync(cancellationToken);
            await using var db = site.Database.CreateContext();
            // A generated name is picked and taken under one site-wide lock: servers of a farm registering
            // a storm of new machines at once never try one name twice.
            await using var naming = fields.Name is null ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
            if (naming is not null)
            {
                await SiteLocks.TakeAsync(db, SiteLocks.DeviceNames, cancellationToken);
            }

            var collection = await Lookup.CollectionAsync(db, fields.Collection ?? CollectionAdmin.DefaultCollection, cancellationToken);
            if (!collection.Ok)
            {
                return collection.Error;
            }

            var now = site.UtcNow;
            var device = new Device
            {
                Mac = address.ToString(),
                Name = fields.Name ?? "",
                MachineId = Guid.NewGuid(),
                CollectionId = collection.Value.Id,
                CreatedAt = now,
                UpdatedAt = now,
            };
            var error = Apply(device, fields with { Name = null, Mac = null, Collection = null });
            if (error is not null)
            {
                return error;
            }

            if (fields.Name is null)
            {
                var generated = await NextNameAsync(db, collection.Value, cancellationToken);
                if (!generated.Ok)
                {
                    return generated.Error;
                }

                device.Name = generated.Value;
            }

            db.Devices.Add(device);
            if ((assignVDiskId ?? collection.Value.DefaultVDiskId) is { } vdiskId)
            {
                db.Assignments.Add(new Assignment { Device = device, VDiskId = vdiskId, IsDefault = true, Position = 1, CreatedAt = now });
            }

            site.Audit(db, "device.add", device.Name, new { device.Mac, Collection = collection.Value.Name, fields, assigned = assignVDiskId ?? collection.Value.DefaultVDiskId });
            var nameTaken = false;
            var saveError = await Persist.SaveAsync(
                db,
                index =>
                {
                    nameTaken = index.Mentions("name") && !index.Mentions("machine_id");
                    return Describe(index, device);
                },
                cancellationToken);
            if (saveError is null)
            {
                if (naming is not null)
                {
                    await naming.CommitAsync(cancellationToken);
                }

                return await ShowAsync(device.Mac, cancellationToken);
            }

            if (fields.Name is not null || !nameTaken || attempt + 1 >= NameAttempts)
            {
                return saveError;
            }
        }
    }

    public async Task<IReadOnlyList<DeviceView>> ListAsync(CancellationToken cancellationToken = default) =>
        (await ListAsync(null, cancellationToken)).Value!;

    /// <summary>The devices, or those of one collection (a collection that does not exist is an error, not an empty list).</summary>
    public async Task<AdminResult<IReadOnlyList<DeviceView>>> ListAsync(string? collection, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        IQueryable<Device> query = db.Devices.Include(d => d.Collection).Include(d => d.Assignments).ThenInclude(a => a.VDisk);
        if (collection is not null)
        {
            var found = await Lookup.CollectionAsync(db, collection, cancellationToken);
            if (!found.Ok)
            {
                return found.Error;
            }

            var id = found.Value.Id;
            query = query.Where(d => d.CollectionId == id);
        }

        var devices = await query.OrderBy(d => d.Name).ToListAsync(cancellationToken);
        return devices.Select(ToView).ToList();
    }

    public async Task<AdminResult<DeviceView>> ShowAsync(string key, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.DeviceAsync(db, key, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        await db.Entry(found.Value).Collection(d => d.Assignments).Query().Include(a => a.VDisk).LoadAsync(cancellationToken);
        return ToView(found.Value);
    }

    public async Task<AdminResult<DeviceView>> SetAsync(string key, DeviceChanges changes, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.DeviceAsync(db, key, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var device = found.Value;
        if (changes.Name is not null)
        {
            if (!Names.TryValidateHostName(changes.Name, out var nameError))
            {
                return AdminError.Invalid(nameError);
            }

            device.Name = changes.Name;
        }

        if (changes.Mac is not null)
        {
            if (!MacAddress.TryParse(changes.Mac, out var mac))
            {
                return AdminError.Invalid($"'{changes.Mac}' is not a MAC address; write it as 52:54:00:12:34:56, 52-54-00-12-34-56 or 525400123456");
            }

            if (mac.WhyNotACard() is { } notACard)
            {
                return AdminError.Invalid($"{notACard}; give the client's own MAC (its firmware shows it at boot, 'ip link' shows it in Linux)");
            }

            device.Mac = mac.ToString();
        }

        if (changes.Collection is not null)
        {
            var collection = await Lookup.CollectionAsync(db, changes.Collection, cancellationToken);
            if (!collection.Ok)
            {
                return collection.Error;
            }

            device.Collection = collection.Value;
        }

        var error = Apply(device, changes);
        if (error is not null)
        {
            return error;
        }

        device.UpdatedAt = site.UtcNow;
        site.Audit(db, "device.set", key, changes);
        return await Persist.SaveAsync(db, index => Describe(index, device), cancellationToken) is { } saveError
            ? saveError
            : await ShowAsync(device.Mac, cancellationToken);
    }

    public async Task<AdminResult<DeviceView>> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await Lookup.DeviceAsync(db, key, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var device = found.Value;
        if (await db.Sessions.AnyAsync(s => s.DeviceId == device.Id && s.EndedAt == null, cancellationToken))
        {
            return AdminError.Refused($"device '{device.Name}' is streaming now (see 'streamboot session list'); shut it down first");
        }

        await db.Entry(device).Collection(d => d.Assignments).Query().Include(a => a.VDisk).LoadAsync(cancellationToken);
        var view = ToView(device);
        db.Devices.Remove(device);
        site.Audit(db, "device.delete", device.Name, new { device.Mac, device.MachineId });
        return await Persist.SaveAsync(db, index => Describe(index, device), cancellationToken) is { } saveError ? saveError : view;
    }

    /// <summary>The next free name from the collection's pattern: one past the highest number in use.</summary>
    private static async Task<AdminResult<string>> NextNameAsync(StreambootDbContext db, Collection collection, CancellationToken cancellationToken)
    {
        if (!NamingPattern.TryParse(collection.NamingPattern, out var pattern, out var error))
        {
            return AdminError.Failed($"collection '{collection.Name}' has a bad naming pattern: {error}");
        }

        var names = await db.Devices.Select(d => d.Name).ToListAsync(cancellationToken);
        long highest = 0;
        foreach (var name in names)
        {
            if (pattern.TryMatch(name, out var number) && number > highest)
            {
                highest = number;
            }
        }

        if (highest >= pattern.MaxNumber)
        {
            return AdminError.Refused($"collection '{collection.Name}' has used every name of its pattern {pattern} (up to {pattern.Format(pattern.MaxNumber)}); give it a longer pattern with 'streamboot collection set {collection.Name} --pattern ...' or name the device with --name");
        }

        return pattern.Format(highest + 1);
    }

    private static AdminError? Apply(Device device, DeviceChanges changes)
    {
        if (changes.Type is not null)
        {
            if (!KebabCase.TryParse<DeviceType>(changes.Type, out var type))
            {
                return AdminError.Invalid($"'{changes.Type}' is not a device type; use one of: {KebabCase.Choices<DeviceType>()}");
            }

            device.Type = type;
        }

        if (changes.WriteCacheMode is not null)
        {
            if (string.Equals(changes.WriteCacheMode, "inherit", StringComparison.OrdinalIgnoreCase))
            {
                device.WriteCacheMode = null;
            }
            else if (KebabCase.TryParse<WriteCacheMode>(changes.WriteCacheMode, out var mode))
            {
                device.WriteCacheMode = mode;
            }
            else
            {
                return AdminError.Invalid($"'{changes.WriteCacheMode}' is not a write-cache mode; use one of: {KebabCase.Choices<WriteCacheMode>()}, or inherit");
            }
        }

        if (changes.BootLoader is { } loaderText)
        {
            if (!BootLoaders.TryParse(loaderText, "inherit", out var loader))
            {
                return AdminError.Invalid(BootLoaders.Invalid(loaderText, "inherit (its collection's choice)"));
            }

            device.BootLoader = loader;
        }

        if (changes.Description is not null)
        {
            device.Description = changes.Description.Length == 0 ? null : changes.Description;
        }

        if (changes.Enabled is { } enabled)
        {
            device.Enabled = enabled;
        }

        if (changes.PersistentWriteCache is { } persistent)
        {
            device.PersistentWriteCache = persistent;
        }

        if (changes.IpAddress is not null)
        {
            if (changes.IpAddress.Length == 0 || string.Equals(changes.IpAddress, "none", StringComparison.OrdinalIgnoreCase))
            {
                device.IpAddress = null;
            }
            else if (System.Net.IPAddress.TryParse(changes.IpAddress, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && changes.IpAddress.Count(c => c == '.') == 3)
            {
                device.IpAddress = ip.ToString();
            }
            else
            {
                return AdminError.Invalid($"'{changes.IpAddress}' is not an IPv4 address; write it as 10.0.0.21 (or none to remove the reservation)");
            }
        }

        return null;
    }

    private static string Describe(string index, Device device) =>
        index.Mentions("machine_id") ? "machine id collision; retry"
        : index.Mentions("mac") ? $"a device with MAC {device.Mac} already exists; 'streamboot device show {device.Mac}' shows it"
        : index.Mentions("ip_address") ? $"address {device.IpAddress} is already reserved for another device"
        : index.Mentions("name") ? $"a device named '{device.Name}' already exists; names are unique, without regard to case"
        : $"conflicts with an existing device ({index})";

    internal static DeviceView ToView(Device d) => new(
        d.Name,
        d.Mac,
        d.MachineId,
        d.Collection?.Name ?? "",
        d.Type,
        d.Enabled,
        d.WriteCacheMode,
        d.PersistentWriteCache,
        d.IpAddress,
        d.Description,
        [.. d.Assignments.OrderBy(a => a.Position).Select(a => new DeviceAssignmentView(a.VDisk?.Name ?? "", a.IsDefault, a.Position))],
        d.CreatedAt,
        d.UpdatedAt,
        d.BootLoader);
}
