using Microsoft.EntityFrameworkCore;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Sessions.Decisions;

/// <summary>
/// Keeps each known device's last refused boot in <c>boot_refusals</c>, so
/// that what a machine's screen said (a kernel Secure Boot refuses, a vDisk
/// it is not assigned, ...) is in <c>session list</c> too. Bounded: one row
/// per device, and a refusal that repeats (the client asks again every few
/// seconds) is written again at most once a minute. Machines the database
/// does not know are not kept (anyone can make up a MAC); nothing is kept
/// while the site database is away (this server's snapshot is not the site).
/// </summary>
internal sealed class RefusedBoots(SiteDatabase database, Func<long?> serverId, TimeProvider clock)
{
    private static readonly TimeSpan s_repeatAfter = TimeSpan.FromMinutes(1);

    public async Task RecordAsync(BootRefused refused, BootRequest request, CancellationToken cancellationToken)
    {
        if (refused.Device is not { } device || database.Offline)
        {
            return;
        }

        var reason = KebabCase.Of(refused.Reason);
        var message = refused.Message.Length > 512 ? refused.Message[..512] : refused.Message;
        var now = clock.GetUtcNow().UtcDateTime;
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var db = database.CreateContext();
        var deviceId = await db.Devices.Where(d => d.Mac == device.Mac).Select(d => (long?)d.Id).FirstOrDefaultAsync(cancellationToken);
        if (deviceId is null)
        {
            return;
        }

        var row = await db.BootRefusals.FirstOrDefaultAsync(r => r.DeviceId == deviceId, cancellationToken);
        if (row is not null && row.Reason == reason && row.Message == message && row.VDisk == refused.VDisk && now - row.RefusedAt < s_repeatAfter)
        {
            return;
        }

        if (row is null)
        {
            row = new BootRefusalRow { DeviceId = deviceId.Value, Reason = reason, Message = message };
            db.BootRefusals.Add(row);
        }

        row.VDisk = refused.VDisk;
        row.VersionNumber = refused.Version;
        row.ServerId = serverId();
        row.RemoteAddress = request.RemoteAddress is { Length: <= 64 } remote ? remote : null;
        row.Loader = request.Loader;
        row.Reason = reason;
        row.Message = message;
        row.RefusedAt = now;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another server recorded the device's refusal at the same moment: one of the two stands, either says why.
        }
    }
}
