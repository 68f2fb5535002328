using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>Finding things by the names admins type. Names compare without case, as the unique indexes do.</summary>
internal static class Lookup
{
    /// <summary>A device by MAC (any accepted spelling) or by name.</summary>
    public static async Task<AdminResult<Device>> DeviceAsync(StreambootDbContext db, string key, CancellationToken cancellationToken)
    {
        Device? device;
        if (MacAddress.TryParse(key, out var mac))
        {
            var canonical = mac.ToString();
            device = await db.Devices.Include(d => d.Collection).FirstOrDefaultAsync(d => d.Mac == canonical, cancellationToken);
        }
        else
        {
            var lower = key.Trim().ToLowerInvariant();
            device = await db.Devices.Include(d => d.Collection).FirstOrDefaultAsync(d => d.Name.ToLower() == lower, cancellationToken);
        }

        return device is null
            ? AdminError.NotFound($"no device '{key}'; 'streamboot device list' shows the devices, by name and MAC")
            : device;
    }

    public static async Task<AdminResult<VDisk>> VDiskAsync(StreambootDbContext db, string name, CancellationToken cancellationToken)
    {
        var lower = name.Trim().ToLowerInvariant();
        var vdisk = await db.VDisks.FirstOrDefaultAsync(v => v.Name.ToLower() == lower, cancellationToken);
        return vdisk is null
            ? AdminError.NotFound($"no vDisk '{name}'; 'streamboot vdisk list' shows the vDisks")
            : vdisk;
    }

    public static async Task<AdminResult<Collection>> CollectionAsync(StreambootDbContext db, string name, CancellationToken cancellationToken)
    {
        var lower = name.Trim().ToLowerInvariant();
        var collection = await db.Collections.Include(c => c.DefaultVDisk).FirstOrDefaultAsync(c => c.Name.ToLower() == lower, cancellationToken);
        return collection is null
            ? AdminError.NotFound($"no collection '{name}'; 'streamboot collection list' shows the collections")
            : collection;
    }

    public static async Task<bool> HasLiveSessionsAsync(StreambootDbContext db, long vdiskId, CancellationToken cancellationToken) =>
        await db.Sessions.AnyAsync(s => s.VDiskId == vdiskId && s.EndedAt == null, cancellationToken);
}
