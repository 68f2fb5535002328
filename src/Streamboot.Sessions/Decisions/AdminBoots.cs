using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Sessions.Profiles;

namespace Streamboot.Sessions.Decisions;

/// <summary>
/// <c>session key DEVICE</c> and <c>POST /api/v1/devices/{key}/boots</c>:
/// an admin's boot of a device, decided as its boot script would be (its
/// vDisk, its version, a new key), for a client that is not a PXE machine
/// (qemu-img, nbdcopy, a VM started by hand). Its first open starts the
/// boot, which ends the device's previous one. The decision is made outside
/// any server's boot path, as from a machine that asks no script: no lease
/// check, no boot profile warming. The audit log names who asked, never the key.
/// </summary>
public sealed class AdminBoots(AdminSite site) : IBootAdmin
{
    public async Task<AdminResult<IssuedBoot>> IssueAsync(string device, string? vdisk, CancellationToken cancellationToken = default)
    {
        var devices = await new DeviceAdmin(site).ShowAsync(device, cancellationToken);
        if (!devices.Ok)
        {
            return devices.Error;
        }

        await using var sessions = new SessionLayer(site, new SessionSettings(), BootProfileSettings.Default with { Window = TimeSpan.Zero }, () => null, NullLoggerFactory.Instance);
        var decision = await sessions.DecideAsync(new BootRequest(devices.Value.Mac, null, VDisk: vdisk), cancellationToken);
        switch (decision)
        {
            case BootVDisk boot:
                await using (var db = site.Database.CreateContext())
                {
                    site.Audit(db, "session.key", boot.Device.Name, new { vdisk = boot.Target.VDisk, version = boot.Target.Version });
                    await db.SaveChangesAsync(cancellationToken);
                }

                return new IssuedBoot($"{boot.Target.Export}/{boot.Key}", boot.Device.Name, boot.Target.VDisk, boot.Target.Version, boot.Key);
            case BootMenu menu:
                return AdminError.Invalid($"{menu.Device.Name} has several vDisks ({string.Join(", ", menu.Items.Select(i => i.VDisk))}); choose one with --vdisk");
            case BootRefused refused:
                return AdminError.Refused(refused.Message);
            default:
                return AdminError.Refused("the device cannot boot now");
        }
    }
}
