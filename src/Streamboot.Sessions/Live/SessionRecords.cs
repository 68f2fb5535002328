using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>
/// Opens and closes streaming sessions for the protocol servers. An export
/// is <c>VDISK</c> (a read-only view of the newest production version) or
/// <c>VDISK/DEVICE</c> (the device's own view: the version its type boots,
/// with its write-cache mode). One live session per device, enforced by the
/// database, so one identity never runs twice, even across servers.
/// </summary>
public sealed class StreamingSessions(AdminSite site, long? serverId)
{
    /// <summary>Resolves an export and records its session as live.</summary>
    public async Task<AdminResult<StreamPlan>> OpenAsync(string export, string protocol, string? remoteAddress, CancellationToken cancellationToken = default) =>
        await ResolveAsync(export, protocol, remoteAddress, record: true, cancellationToken);

    /// <summary>Resolves an export without opening a session (NBD_OPT_INFO asks only for size and flags); SessionId is 0.</summary>
    public async Task<AdminResult<StreamPlan>> DescribeAsync(string export, CancellationToken cancellationToken = default) =>
        await ResolveAsync(export, "", null, record: false, cancellationToken);

    private async Task<AdminResult<StreamPlan>> ResolveAsync(string export, string protocol, string? remoteAddress, bool record, CancellationToken cancellationToken)
    {
        var slash = export.IndexOf('/', StringComparison.Ordinal);
        var vdiskName = slash < 0 ? export : export[..slash];
        var deviceKey = slash < 0 ? null : export[(slash + 1)..];
        await using var db = site.Database.CreateContext();
        var vdisk = await Lookup.VDiskAsync(db, vdiskName, cancellationToken);
        if (!vdisk.Ok)
        {
            return vdisk.Error;
        }

        await db.Entry(vdisk.Value).Collection(v => v.Versions).LoadAsync(cancellationToken);
        var folder = site.ResolveStorePath(vdisk.Value.StorePath);
        Device? device = null;
        VDiskVersion? version;
        WriteCacheMode mode;
        bool readOnly;
        var continuesBoot = false;
        if (deviceKey is null)
        {
            version = VersionSelection.ForDevice(DeviceType.Production, vdisk.Value.Versions);
            mode = WriteCacheMode.ClientDisk;
            readOnly = true;
        }
        else
        {
            var found = await Lookup.DeviceAsync(db, deviceKey, cancellationToken);
            if (!found.Ok)
            {
                return found.Error;
            }

            device = found.Value;
            if (!device.Enabled)
            {
                return AdminError.Refused($"device '{device.Name}' is disabled");
            }

            if (!await db.Assignments.AnyAsync(a => a.DeviceId == device.Id && a.VDiskId == vdisk.Value.Id, cancellationToken))
            {
                return AdminError.Refused($"device '{device.Name}' is not assigned vDisk '{vdisk.Value.Name}'; 'streamboot assign {device.Name} {vdisk.Value.Name}' allows it");
            }

            version = VersionSelection.ForDevice(device.Type, vdisk.Value.Versions);
            // A reconnect within a boot keeps the boot's version, whatever
            // was promoted since: never a different disk under a running OS.
            if (device.BootVDiskId == vdisk.Value.Id && device.BootVersion is int pinned)
            {
                continuesBoot = true;
                version = vdisk.Value.Versions.FirstOrDefault(v => v.Number == pinned) ?? version;
            }

            mode = WriteCachePolicy.For(device, vdisk.Value, version);
            readOnly = mode.OnClient();
        }

        if (version is null)
        {
            return AdminError.NotFound($"vDisk '{vdisk.Value.Name}' has no version for {(device is null ? "production" : KebabCase.Of(device.Type) + " devices")}");
        }

        if (!record)
        {
            return Plan(0);
        }

        var now = site.UtcNow;
        var session = new Session
        {
            DeviceId = device?.Id,
            VDiskId = vdisk.Value.Id,
            VersionNumber = version.Number,
            ServerId = serverId,
            Protocol = protocol,
            RemoteAddress = remoteAddress,
            WriteCacheMode = mode,
            StartedAt = now,
            LastActivityAt = now,
        };
        db.Sessions.Add(session);
        if (device is not null)
        {
            device.BootVDiskId = vdisk.Value.Id;
            device.BootVersion = version.Number;
        }

        if (await Persist.SaveAsync(db, _ => $"device '{device?.Name}' already has a live session; one identity never runs twice (see 'streamboot session list')", cancellationToken) is { } error)
        {
            return AdminError.Refused(error.Message);
        }

        return Plan(session.Id);

        StreamPlan Plan(long sessionId) => new(
            sessionId,
            vdisk.Value.Name,
            vdisk.Value.Description,
            version.Number,
            Path.Combine(folder, version.FileName),
            vdisk.Value.SizeBytes,
            mode,
            readOnly,
            device?.Name,
            device?.Mac,
            device?.MachineId,
            device?.PersistentWriteCache ?? false)
        {
            ContinuesBoot = continuesBoot,
        };
    }

    /// <summary>
    /// The device starts a new boot (it asked for its boot script): its next
    /// session picks its version afresh.
    /// </summary>
    public async Task NewBootAsync(string deviceName, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        await db.Devices.Where(d => d.Name == deviceName).ExecuteUpdateAsync(
            u => u.SetProperty(d => d.BootVDiskId, (long?)null).SetProperty(d => d.BootVersion, (int?)null),
            cancellationToken);
    }

    /// <summary>Records the session's traffic so far (the server calls this now and then, and at the end).</summary>
    public async Task UpdateAsync(long sessionId, long bytesRead, long bytesWritten, long writeCacheBytes, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var now = site.UtcNow;
        await db.Sessions.Where(s => s.Id == sessionId).ExecuteUpdateAsync(
            u => u.SetProperty(s => s.BytesRead, bytesRead)
                .SetProperty(s => s.BytesWritten, bytesWritten)
                .SetProperty(s => s.WriteCacheBytes, writeCacheBytes)
                .SetProperty(s => s.LastActivityAt, now),
            cancellationToken);
    }

    /// <summary>Ends the session; its device may then start another.</summary>
    public async Task CloseAsync(long sessionId, long bytesRead, long bytesWritten, long writeCacheBytes, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var now = site.UtcNow;
        await db.Sessions.Where(s => s.Id == sessionId).ExecuteUpdateAsync(
            u => u.SetProperty(s => s.BytesRead, bytesRead)
                .SetProperty(s => s.BytesWritten, bytesWritten)
                .SetProperty(s => s.WriteCacheBytes, writeCacheBytes)
                .SetProperty(s => s.LastActivityAt, now)
                .SetProperty(s => s.EndedAt, now),
            cancellationToken);
    }

    /// <summary>Names offered by an export listing: every vDisk, with its description.</summary>
    public async Task<IReadOnlyList<(string Name, string? Description)>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var rows = await db.VDisks.OrderBy(v => v.Name).Select(v => new { v.Name, v.Description }).ToListAsync(cancellationToken);
        return [.. rows.Select(r => (r.Name, r.Description))];
    }
}
