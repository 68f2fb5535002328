using Microsoft.EntityFrameworkCore;
using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Sessions.Credentials;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Sessions.Views;

/// <summary>
/// What a view name means in the database, checked before anything opens:
/// the vDisk exists (and lends its read-only view to anyone, for
/// <c>VDISK</c>), the device exists, is enabled and assigned the vDisk, and
/// the key is one of its boots'. Reads only.
/// </summary>
internal sealed class ViewResolver(AdminSite site, SessionSettings settings, BootCredentials credentials)
{
    /// <summary>The read-only view of a vDisk's newest production version.</summary>
    public async Task<SessionResult<SharedTarget>> SharedAsync(ViewName name, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var vdisk = await VDiskAsync(db, name.VDisk, cancellationToken);
        if (vdisk is null)
        {
            return UnknownVDisk(name.VDisk);
        }

        if (!vdisk.AnonymousReads || vdisk.AccessMode == AccessMode.Private)
        {
            // A private image is its device's alone, and written in place.
            return new SessionError(SessionRefusal.AnonymousReadsOff, $"vDisk '{vdisk.Name}' serves no read-only view without a boot's key");
        }

        var version = VersionSelection.ForDevice(DeviceType.Production, vdisk.Versions);
        if (version is null)
        {
            return new SessionError(SessionRefusal.NoVersion, $"vDisk '{vdisk.Name}' has no version in production");
        }

        return new SharedTarget(vdisk, version, Path.Combine(site.ResolveStorePath(vdisk.StorePath), version.FileName));
    }

    /// <summary>A device's own view: the device, the vDisk and the boot whose key the name carries.</summary>
    public async Task<SessionResult<DeviceTarget>> DeviceAsync(ViewName name, CancellationToken cancellationToken)
    {
        Device? device;
        VDisk? vdisk;
        await using (var db = site.Database.CreateContext())
        {
            vdisk = await VDiskAsync(db, name.VDisk, cancellationToken);
            if (vdisk is null)
            {
                return UnknownVDisk(name.VDisk);
            }

            device = await DeviceAsync(db, name.Device!, cancellationToken);
            if (device is null)
            {
                return new SessionError(SessionRefusal.UnknownDevice, $"no device '{ClientText.ForLog(name.Device, 64)}'");
            }

            if (!device.Enabled)
            {
                return new SessionError(SessionRefusal.DeviceDisabled, $"device '{device.Name}' is disabled");
            }

            if (!await db.Assignments.AnyAsync(a => a.DeviceId == device.Id && a.VDiskId == vdisk.Id, cancellationToken))
            {
                return new SessionError(SessionRefusal.NotAssigned, $"device '{device.Name}' is not assigned vDisk '{vdisk.Name}'");
            }
        }

        Boot? boot;
        if (name.Key is { } key)
        {
            boot = await credentials.MatchAsync(device.Id, key, cancellationToken);
            if (boot is null)
            {
                return new SessionError(SessionRefusal.KeyRejected, $"that key is not one of {device.Name}'s boots (a newer boot of it has started, or the key was never issued); boot it again");
            }
        }
        else if (settings.RequireBootKey)
        {
            return new SessionError(SessionRefusal.KeyRequired, $"{name} is {device.Name}'s own disk and needs its boot's key ({name}/KEY; the boot script gives the client its key); without one only the read-only view '{vdisk.Name}' is served");
        }
        else
        {
            // Keys off: the device's running boot, else its newest issued one, else a boot of its own.
            boot = await credentials.NewestAsync(device.Id, cancellationToken);
            if (boot is null || boot.VDiskId != vdisk.Id)
            {
                var issued = await credentials.IssueAsync(device.Id, vdisk.Id, null, cancellationToken);
                boot = await credentials.MatchAsync(device.Id, issued, cancellationToken);
                if (boot is null)
                {
                    return new SessionError(SessionRefusal.Conflict, $"device '{device.Name}' started another boot just now; try again");
                }
            }
        }

        if (boot.VDiskId != vdisk.Id)
        {
            return new SessionError(SessionRefusal.NotAssigned, $"that key is for another vDisk of {device.Name}, not '{vdisk.Name}'");
        }

        return new DeviceTarget(device, vdisk, boot, site.ResolveStorePath(vdisk.StorePath));
    }

    /// <summary>
    /// The key of one of the device's boots of the vDisk that the client's
    /// proof accepts (a challenge-response login), checked like a device
    /// view: the vDisk and device exist, the device is enabled and assigned.
    /// </summary>
    public async Task<SessionResult<string>> ProveKeyAsync(string vdiskName, string deviceName, Func<string, bool> proves, CancellationToken cancellationToken)
    {
        long deviceId;
        long vdiskId;
        await using (var db = site.Database.CreateContext())
        {
            var vdisk = await VDiskAsync(db, vdiskName, cancellationToken);
            if (vdisk is null)
            {
                return UnknownVDisk(vdiskName);
            }

            var device = await DeviceAsync(db, deviceName, cancellationToken);
            if (device is null)
            {
                return new SessionError(SessionRefusal.UnknownDevice, $"no device '{ClientText.ForLog(deviceName, 64)}'");
            }

            if (!device.Enabled)
            {
                return new SessionError(SessionRefusal.DeviceDisabled, $"device '{device.Name}' is disabled");
            }

            if (!await db.Assignments.AnyAsync(a => a.DeviceId == device.Id && a.VDiskId == vdisk.Id, cancellationToken))
            {
                return new SessionError(SessionRefusal.NotAssigned, $"device '{device.Name}' is not assigned vDisk '{vdisk.Name}'");
            }

            deviceId = device.Id;
            vdiskId = vdisk.Id;
        }

        var key = await credentials.ProveAsync(deviceId, vdiskId, proves, cancellationToken);
        return key is null
            ? new SessionError(SessionRefusal.KeyRejected, "no boot's key of that device answers the challenge (a newer boot has started, or the key was never issued); boot it again")
            : key;
    }

    /// <summary>The vDisk's versions as they are now (a version may have been promoted, rolled back or merged since the target was resolved).</summary>
    public async Task<List<VDiskVersion>> VersionsAsync(long vdiskId, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        return await db.VDiskVersions.AsNoTracking().Where(v => v.VDiskId == vdiskId).ToListAsync(cancellationToken);
    }

    /// <summary>Which of these version ids still have their row (a deleted vDisk takes its versions' rows with it).</summary>
    public async Task<IReadOnlySet<long>> ExistingVersionsAsync(IReadOnlySet<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return ids;
        }

        var list = ids.ToList();
        await using var db = site.Database.CreateContext();
        return (await db.VDiskVersions.AsNoTracking().Where(v => list.Contains(v.Id)).Select(v => v.Id).ToListAsync(cancellationToken)).ToHashSet();
    }

    /// <summary>The store folder of a vDisk whose boot files this request may read.</summary>
    public async Task<SessionResult<string>> BootFilesAsync(BootFilesRequest request, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var vdisk = await VDiskAsync(db, request.VDisk, cancellationToken);
        if (vdisk is null)
        {
            return UnknownVDisk(request.VDisk);
        }

        if (!vdisk.AnonymousReads && !(request.Key is { } key && BootKey.IsWellFormed(key) && await credentials.AnyOfVDiskAsync(vdisk.Id, key, cancellationToken)))
        {
            return new SessionError(SessionRefusal.KeyRequired, $"vDisk '{vdisk.Name}' gives its boot files only with a boot's key");
        }

        return site.ResolveStorePath(vdisk.StorePath);
    }

    /// <summary>Names offered by a listing: the vDisks that lend their read-only view to anyone.</summary>
    public async Task<IReadOnlyList<(string Name, string? Description)>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var rows = await db.VDisks.Where(v => v.AnonymousReads && v.AccessMode != AccessMode.Private).OrderBy(v => v.Name).Select(v => new { v.Name, v.Description }).ToListAsync(cancellationToken);
        return [.. rows.Select(r => (r.Name, r.Description))];
    }

    /// <summary>A device by MAC address, with its collection, assignments and live session.</summary>
    public async Task<(Device Device, IReadOnlyList<string> VDisks, string? DefaultVDisk, Session? Live, string? LiveVDisk)?> IdentityAsync(MacAddress mac, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var device = await db.Devices.AsNoTracking().Include(d => d.Collection).Include(d => d.Assignments).ThenInclude(a => a.VDisk)
            .FirstOrDefaultAsync(d => d.Mac == mac.ToString(), cancellationToken);
        if (device is null)
        {
            return null;
        }

        var live = await db.Sessions.AsNoTracking().Include(s => s.VDisk).FirstOrDefaultAsync(s => s.DeviceId == device.Id && s.EndedAt == null, cancellationToken);
        var vdisks = device.Assignments.OrderBy(a => a.Position).Select(a => a.VDisk!.Name).ToList();
        var defaultVDisk = device.Assignments.Where(a => a.IsDefault).Select(a => a.VDisk!.Name).FirstOrDefault() ?? vdisks.FirstOrDefault();
        return (device, vdisks, defaultVDisk, live, live?.VDisk?.Name);
    }

    public async Task<string?> VDiskNameAsync(long vdiskId, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        return await db.VDisks.Where(v => v.Id == vdiskId).Select(v => v.Name).FirstOrDefaultAsync(cancellationToken);
    }

    private static SessionError UnknownVDisk(string name) =>
        new(SessionRefusal.UnknownVDisk, $"no vDisk '{ClientText.ForLog(name, 64)}'");

    private static async Task<VDisk?> VDiskAsync(StreambootDbContext db, string name, CancellationToken cancellationToken)
    {
        var lower = name.Trim().ToLowerInvariant();
        return await db.VDisks.AsNoTracking().Include(v => v.Versions).FirstOrDefaultAsync(v => v.Name.ToLower() == lower, cancellationToken);
    }

    /// <summary>A device by MAC (any spelling) or by name; names compare without case, as the unique index does.</summary>
    private static async Task<Device?> DeviceAsync(StreambootDbContext db, string key, CancellationToken cancellationToken)
    {
        if (MacAddress.TryParse(key, out var mac))
        {
            var canonical = mac.ToString();
            return await db.Devices.AsNoTracking().Include(d => d.Collection).FirstOrDefaultAsync(d => d.Mac == canonical, cancellationToken);
        }

        var lower = key.Trim().ToLowerInvariant();
        return await db.Devices.AsNoTracking().Include(d => d.Collection).FirstOrDefaultAsync(d => d.Name.ToLower() == lower, cancellationToken);
    }
}

/// <summary>The shared read-only view's version, resolved.</summary>
internal sealed record SharedTarget(VDisk VDisk, VDiskVersion Version, string TopFile);

/// <summary>A device view, resolved: whose, of what, and which boot.</summary>
internal sealed record DeviceTarget(Device Device, VDisk VDisk, Boot Boot, string StoreFolder);
