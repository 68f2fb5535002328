using Microsoft.EntityFrameworkCore;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Rebalancing;
using Streamboot.Admin.Views;
using Streamboot.Data;

namespace Streamboot.Admin;

/// <summary>
/// The farm's servers as an admin changes them: drain one (no new boots;
/// its live clients stay until they end), enable it again, set its weight
/// (its share of new boots), remove the row of one that is gone. Through
/// <see cref="IServerAdmin"/>, liveness is judged by the site's
/// <see cref="AdminSite.Farm"/> settings.
/// </summary>
public sealed class ServerAdmin(AdminSite site) : IServerAdmin
{
    public const int MaxWeight = 1000;

    async Task<AdminResult<IReadOnlyList<ServerView>>> IServerAdmin.ListAsync(CancellationToken cancellationToken) =>
        AdminResult.Of(await new SiteQueries(site).ServersAsync(site.Farm.ServerDownAfter, site.Farm.BootingWindow, cancellationToken));

    Task<AdminResult<RebalancePlan>> IServerAdmin.DrainAndMoveAsync(string name, CancellationToken cancellationToken) =>
        Rebalance().DrainAndMoveAsync(name, cancellationToken);

    Task<AdminResult<string>> IServerAdmin.RemoveAsync(string name, CancellationToken cancellationToken) =>
        RemoveAsync(name, site.Farm.ServerDownAfter, cancellationToken);

    async Task<AdminResult<RebalancePlan>> IServerAdmin.RebalanceAsync(bool dryRun, CancellationToken cancellationToken) =>
        await Rebalance().RebalanceAsync(dryRun, cancellationToken);

    /// <summary>No new boots go to the server; the sessions it streams go on.</summary>
    public Task<AdminResult<string>> DrainAsync(string name, CancellationToken cancellationToken = default) =>
        ChangeAsync(name, "server.drain", s => s.Enabled = false, cancellationToken);

    public Task<AdminResult<string>> EnableAsync(string name, CancellationToken cancellationToken = default) =>
        ChangeAsync(name, "server.enable", s => s.Enabled = true, cancellationToken);

    public Task<AdminResult<string>> SetWeightAsync(string name, int weight, CancellationToken cancellationToken = default) =>
        weight is < 1 or > MaxWeight
            ? Task.FromResult<AdminResult<string>>(AdminError.Invalid($"weight {weight} is out of range; use 1-{MaxWeight} (twice the weight, twice the share of new boots)"))
            : ChangeAsync(name, "server.set", s => s.Weight = weight, cancellationToken, new { weight });

    /// <summary>
    /// Removes a server's row: only one that is not running (stopped, or
    /// silent past <paramref name="downAfter"/>). Its sessions and leases
    /// keep their history without it.
    /// </summary>
    public async Task<AdminResult<string>> RemoveAsync(string name, TimeSpan downAfter, CancellationToken cancellationToken = default)
    {
        await using var db = site.Database.CreateContext();
        var found = await FindAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var server = found.Value;
        if (ServerLiveness.StateAfter(server, site.UtcNow, downAfter) == ServerState.Running)
        {
            return AdminError.Refused($"server '{server.Name}' is running (its last heartbeat was {(int)(site.UtcNow - server.LastHeartbeatAt).TotalSeconds} s ago); stop it first, or 'streamboot server drain {server.Name}' to send new boots elsewhere");
        }

        await db.Sessions.Where(s => s.ServerId == server.Id && s.EndedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, (DateTime?)site.UtcNow), cancellationToken);
        db.Servers.Remove(server);
        site.Audit(db, "server.remove", server.Name, new { server.Addresses });
        await db.SaveChangesAsync(cancellationToken);
        return server.Name;
    }

    private ServerRebalance Rebalance() => new(site, site.Farm.ServerDownAfter, site.Farm.BootingWindow);

    private async Task<AdminResult<string>> ChangeAsync(string name, string action, Action<Data.Model.Server> change, CancellationToken cancellationToken, object? details = null)
    {
        await using var db = site.Database.CreateContext();
        var found = await FindAsync(db, name, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        change(found.Value);
        site.Audit(db, action, found.Value.Name, details);
        await db.SaveChangesAsync(cancellationToken);
        return found.Value.Name;
    }

    private static async Task<AdminResult<Data.Model.Server>> FindAsync(StreambootDbContext db, string name, CancellationToken cancellationToken)
    {
        var lower = name.Trim().ToLowerInvariant();
        var server = await db.Servers.FirstOrDefaultAsync(s => s.Name.ToLower() == lower, cancellationToken);
        if (server is not null)
        {
            return server;
        }

        var known = await db.Servers.OrderBy(s => s.Name).Select(s => s.Name).ToListAsync(cancellationToken);
        return AdminError.NotFound(known.Count == 0
            ? $"there is no server '{ClientText.ForLog(name, 64)}': no server has run on this database yet"
            : $"there is no server '{ClientText.ForLog(name, 64)}'; the servers are {string.Join(", ", known)} ('streamboot server list')");
    }
}
