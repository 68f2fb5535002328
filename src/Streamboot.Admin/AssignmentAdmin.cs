using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>Which vDisks a device may boot, in menu order, with one default.</summary>
public sealed class AssignmentAdmin(AdminSite site) : IAssignmentAdmin
{
    public async Task<AdminResult<DeviceView>> AssignAsync(string deviceKey, string vdiskName, bool makeDefault, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var device = await Lookup.DeviceAsync(db, deviceKey, cancellationToken);
        if (!device.Ok)
        {
            return device.Error;
        }

        var vdisk = await Lookup.VDiskAsync(db, vdiskName, cancellationToken);
        if (!vdisk.Ok)
        {
            return vdisk.Error;
        }

        var assignments = await db.Assignments.Where(a => a.DeviceId == device.Value.Id).ToListAsync(cancellationToken);
        var existing = assignments.Find(a => a.VDiskId == vdisk.Value.Id);
        if (existing is not null && (!makeDefault || existing.IsDefault))
        {
            return AdminError.Conflict($"vDisk '{vdisk.Value.Name}' is already assigned to '{device.Value.Name}'{(existing.IsDefault ? " as its default" : "")}");
        }

        if (existing is null && vdisk.Value.AccessMode == AccessMode.Private)
        {
            var owner = await db.Assignments.Where(a => a.VDiskId == vdisk.Value.Id).Select(a => a.Device!.Name).FirstOrDefaultAsync(cancellationToken);
            if (owner is not null)
            {
                return AdminError.Refused($"vDisk '{vdisk.Value.Name}' is a private image and belongs to '{owner}'; a private image has one device");
            }
        }

        // The partial unique index allows one default per device at any
        // moment, so the old default is cleared and saved before the new one.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var isDefault = makeDefault || assignments.Count == 0;
        if (isDefault)
        {
            foreach (var other in assignments.Where(a => a.IsDefault))
            {
                other.IsDefault = false;
            }

            if (await Persist.SaveAsync(db, _ => "another admin changed this device's default at the same time; retry", cancellationToken) is { } clearError)
            {
                return clearError;
            }
        }

        if (existing is not null)
        {
            existing.IsDefault = true;
        }
        else
        {
            db.Assignments.Add(new Assignment
            {
                DeviceId = device.Value.Id,
                VDiskId = vdisk.Value.Id,
                IsDefault = isDefault,
                Position = assignments.Count == 0 ? 1 : assignments.Max(a => a.Position) + 1,
                CreatedAt = site.UtcNow,
            });
        }

        site.Audit(db, "assign", device.Value.Name, new { vdisk = vdisk.Value.Name, isDefault });
        if (await Persist.SaveAsync(db, _ => $"vDisk '{vdisk.Value.Name}' was just assigned to '{device.Value.Name}' by someone else", cancellationToken) is { } error)
        {
            return error;
        }

        await transaction.CommitAsync(cancellationToken);
        return await new DeviceAdmin(site).ShowAsync(device.Value.Mac, cancellationToken);
    }

    public async Task<AdminResult<DeviceView>> UnassignAsync(string deviceKey, string vdiskName, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var device = await Lookup.DeviceAsync(db, deviceKey, cancellationToken);
        if (!device.Ok)
        {
            return device.Error;
        }

        var vdisk = await Lookup.VDiskAsync(db, vdiskName, cancellationToken);
        if (!vdisk.Ok)
        {
            return vdisk.Error;
        }

        var assignments = await db.Assignments.Where(a => a.DeviceId == device.Value.Id).OrderBy(a => a.Position).ToListAsync(cancellationToken);
        var existing = assignments.Find(a => a.VDiskId == vdisk.Value.Id);
        if (existing is null)
        {
            return AdminError.NotFound($"vDisk '{vdisk.Value.Name}' is not assigned to '{device.Value.Name}'");
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Assignments.Remove(existing);
        site.Audit(db, "unassign", device.Value.Name, new { vdisk = vdisk.Value.Name });
        if (await Persist.SaveAsync(db, _ => "conflict", cancellationToken) is { } error)
        {
            return error;
        }

        // The device keeps a default while it has any vDisk: the first left in menu order.
        if (existing.IsDefault && assignments.FirstOrDefault(a => a != existing) is { } next)
        {
            next.IsDefault = true;
            if (await Persist.SaveAsync(db, _ => "another admin changed this device's default at the same time; retry", cancellationToken) is { } defaultError)
            {
                return defaultError;
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return await new DeviceAdmin(site).ShowAsync(device.Value.Mac, cancellationToken);
    }
}
