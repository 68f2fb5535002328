using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;

namespace Streamboot.Admin;

/// <summary>Read-only views of what the site is doing: sessions, servers, the audit log.</summary>
public sealed class SiteQueries(AdminSite site) : ISiteQueries
{
    async Task<AdminResult<IReadOnlyList<SessionView>>> ISiteQueries.SessionsAsync(bool includeEnded, CancellationToken cancellationToken) =>
        AdminResult.Of(await SessionsAsync(includeEnded, cancellationToken));

    async Task<AdminResult<IReadOnlyList<RefusedBootView>>> ISiteQueries.RefusedBootsAsync(bool includePast, CancellationToken cancellationToken) =>
        AdminResult.Of(await RefusedBootsAsync(includePast, cancellationToken));

    async Task<AdminResult<IReadOnlyList<LeaseView>>> ISiteQueries.LeasesAsync(CancellationToken cancellationToken) =>
        AdminResult.Of(await LeasesAsync(cancellationToken));

    async Task<AdminResult<IReadOnlyList<AuditView>>> ISiteQueries.AuditAsync(int limit, CancellationToken cancellationToken) =>
        AdminResult.Of(await AuditAsync(limit, cancellationToken));

    public async Task<IReadOnlyList<SessionView>> SessionsAsync(bool includeEnded, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var query = db.Sessions.Include(s => s.Device).Include(s => s.VDisk).Include(s => s.Server).AsQueryable();
        if (!includeEnded)
        {
            query = query.Where(s => s.EndedAt == null);
        }

        var sessions = await query.OrderBy(s => s.StartedAt).ToListAsync(cancellationToken);
        return [.. sessions.Select(s => new SessionView(
            s.Id,
            s.Device?.Name,
            s.Device?.Mac,
            s.VDisk?.Name ?? "",
            s.VersionNumber,
            s.Server?.Name,
            s.Protocol,
            s.RemoteAddress,
            s.WriteCacheMode,
            s.StartedAt,
            s.LastActivityAt,
            s.EndedAt,
            s.BytesRead,
            s.BytesWritten,
            s.WriteCacheBytes)
        {
            BootIssuedAt = s.BootIssuedAt,
            BootStartedAt = s.BootStartedAt,
            BootRootConnectedAt = s.BootRootConnectedAt,
        })];
    }

    /// <summary>
    /// Devices' last refused boots, newest first: only those nothing of the
    /// device has started since, unless <paramref name="includePast"/>.
    /// </summary>
    public async Task<IReadOnlyList<RefusedBootView>> RefusedBootsAsync(bool includePast, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var refusals = await db.BootRefusals.AsNoTracking().Include(r => r.Device).Include(r => r.Server)
            .OrderByDescending(r => r.RefusedAt).ToListAsync(cancellationToken);
        var deviceIds = refusals.Select(r => r.DeviceId).ToList();
        var lastStarts = await db.Sessions.Where(s => s.DeviceId != null && deviceIds.Contains(s.DeviceId.Value))
            .GroupBy(s => s.DeviceId).Select(g => new { Id = g.Key, Started = g.Max(s => s.StartedAt) })
            .ToDictionaryAsync(x => x.Id!.Value, x => x.Started, cancellationToken);
        return
        [
            .. refusals
                .Select(r => new RefusedBootView(
                    r.Device?.Name ?? "",
                    r.Device?.Mac ?? "",
                    r.VDisk,
                    r.VersionNumber,
                    r.Server?.Name,
                    r.RemoteAddress,
                    r.Loader,
                    r.Reason,
                    r.Message,
                    r.RefusedAt,
                    !lastStarts.TryGetValue(r.DeviceId, out var started) || started < r.RefusedAt))
                .Where(r => includePast || r.Current),
        ];
    }

    /// <summary>
    /// The servers, each with its state (running, stopped, or missing
    /// heartbeats: silent for longer than <paramref name="downAfter"/>) and
    /// its load: live device sessions, and boots placed on it within
    /// <paramref name="bootingWindow"/>.
    /// </summary>
    public async Task<IReadOnlyList<ServerView>> ServersAsync(TimeSpan downAfter, TimeSpan bootingWindow, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var servers = await db.Servers.AsNoTracking().OrderBy(s => s.Name).ToListAsync(cancellationToken);
        var now = site.UtcNow;
        var since = now - bootingWindow;
        var sessions = await db.Sessions.Where(s => s.EndedAt == null && s.DeviceId != null && s.ServerId != null)
            .GroupBy(s => s.ServerId).Select(g => new { Id = g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        var booting = await db.Boots.Where(Data.Model.Boot.BootingSince(since)).Where(b => b.ServerId != null)
            .GroupBy(b => b.ServerId).Select(g => new { Id = g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        return [.. servers.Select(s => new ServerView(s.Name, s.Address, s.HttpPort, s.Enabled, s.Version, s.StartedAt, s.LastHeartbeatAt, ServerLiveness.StateAfter(s, now, downAfter), s.StoppedAt)
        {
            Addresses = s.Addresses,
            NbdPort = s.NbdPort,
            IscsiPort = s.IscsiPort,
            Weight = s.Weight,
            MaxBooting = s.MaxBooting,
            Sessions = sessions.Find(x => x.Id == s.Id)?.Count ?? 0,
            Booting = booting.Find(x => x.Id == s.Id)?.Count ?? 0,
            BytesPerSecond = s.BytesPerSecond,
        })];
    }

    /// <summary>Full-mode DHCP leases, in address order (as they sort as numbers, not text).</summary>
    public async Task<IReadOnlyList<LeaseView>> LeasesAsync(CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var leases = await db.DhcpLeases.AsNoTracking().ToListAsync(cancellationToken);
        var devices = await db.Devices.AsNoTracking().Select(d => new { d.Mac, d.Name }).ToDictionaryAsync(d => d.Mac, d => d.Name, cancellationToken);
        return
        [
            .. leases
                .OrderBy(l => System.Net.IPAddress.TryParse(l.Address, out var a) ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(a.GetAddressBytes()) : uint.MaxValue)
                .Select(l => new LeaseView(l.Address, l.Mac, devices.GetValueOrDefault(l.Mac), l.State, l.ExpiresAt, l.HostName)),
        ];
    }

    public async Task<IReadOnlyList<AuditView>> AuditAsync(int limit, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var entries = await db.AuditLog.OrderByDescending(a => a.Id).Take(limit).ToListAsync(cancellationToken);
        return [.. entries.Select(a => new AuditView(a.Id, a.At, a.Actor, a.Action, a.Target, ParseDetails(a.Details)))];
    }

    /// <summary>Details are stored as JSON text; they are shown as the object they are (text that is not JSON, as a string).</summary>
    private static System.Text.Json.JsonElement? ParseDetails(string? details)
    {
        if (details is null)
        {
            return null;
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(details);
            return document.RootElement.Clone();
        }
        catch (System.Text.Json.JsonException)
        {
            return System.Text.Json.JsonSerializer.SerializeToElement(details);
        }
    }
}
