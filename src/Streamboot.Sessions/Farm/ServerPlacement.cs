using System.Net;
using Microsoft.EntityFrameworkCore;
using Streamboot.Admin;
using Streamboot.Admin.Views;
using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Sessions.Farm;

/// <summary>What placement decided for one new boot.</summary>
public abstract record PlacementResult;

/// <summary>The boot goes to this server (the boot row is added with it).</summary>
public sealed record Placed(BootPlacement Placement) : PlacementResult;

/// <summary>Every server that could take it has its limit of clients booting: the client waits its turn.</summary>
public sealed record PlacementFull(int Ahead, int Booting) : PlacementResult;

/// <summary>No server takes new boots at all (every one drained, down, or without the version).</summary>
public sealed record NoServer(string Why) : PlacementResult;

/// <summary>
/// Sends each new boot to the healthy server with the lowest load per
/// weight (Citrix Provisioning's power rating), among those that are
/// enabled (not drained), beat within <see cref="SessionSettings.ServerDownAfter"/>,
/// hold the version, and have fewer clients booting than their limit; with
/// <see cref="SessionSettings.SubnetAffinity"/>, only those on the client's
/// subnet when any is. Load is what the database says now, not the last
/// heartbeat: live device sessions plus boots placed and not yet started.
/// A client counts as booting for <see cref="SessionSettings.BootingWindow"/>
/// after its boot script, or until its boot's session ends (it finished and
/// left, or gave up), whichever comes first.
/// Counting and adding the boot happen under one site-wide lock, so two
/// servers placing at once cannot both take a server's last booting slot.
/// When every candidate is full, clients wait in a first-come queue kept
/// by the server they ask (iPXE retries the same server's script).
/// </summary>
internal sealed class ServerPlacement(SiteDatabase database, SessionSettings settings, Func<long?> serverId, TimeProvider clock)
{
    private readonly BootQueue _queue = new(clock);

    /// <summary>Which servers hold a usable copy of a version (null: every server, as on a shared store).</summary>
    public Func<long, CancellationToken, Task<IReadOnlySet<long>?>> Holders { get; init; } = static (_, _) => Task.FromResult<IReadOnlySet<long>?>(null);

    /// <summary>
    /// Places the boot and adds its row (with <paramref name="boot"/>'s
    /// fields) in one transaction. In a storm, the placements that arrive
    /// together share one (<see cref="SiteDatabase.WriteAsync{T}"/>): each
    /// still counts the boots placed before it, its own batch's included.
    /// </summary>
    public Task<PlacementResult> PlaceAsync(Boot boot, long versionId, string mac, string? remote, CancellationToken cancellationToken) =>
        database.WriteAsync(
            async (db, ct) =>
            {
                var self = serverId();
                await SiteLocks.TakeAsync(db, SiteLocks.Placement, ct);
                // Not a server (an admin's 'session key'): the boot is whoever opens it first.
                var result = self is null ? new Placed(BootPlacement.Here) : await ChooseAsync(db, self.Value, versionId, mac, ClientOf(remote), ct);
                if (result is Placed placed)
                {
                    boot.ServerId = placed.Placement.Server?.Id ?? self;
                    db.Boots.Add(boot);
                    await db.SaveChangesAsync(ct);
                }

                return result;
            },
            cancellationToken);

    private async Task<PlacementResult> ChooseAsync(StreambootDbContext db, long self, long versionId, string mac, IPAddress? client, CancellationToken cancellationToken)
    {
        var farm = await FarmLoadAsync(db, cancellationToken);
        var now = farm.Now;
        var asOf = farm.AsOf;
        var rows = farm.Servers;
        if (!farm.Holders.TryGetValue(versionId, out var holders))
        {
            holders = farm.Holders[versionId] = await Holders(versionId, cancellationToken);
        }

        var candidates = rows
            // This server is alive whatever its row says (it is answering): a heartbeat the database
            // could not take for a while must not leave a lone server refusing every boot.
            .Where(s => s.Enabled && s.NbdPort > 0 && (s.Id == self || ServerLiveness.StateAfter(s, asOf, settings.ServerDownAfter) == ServerState.Running))
            .Where(s => holders is null || holders.Contains(s.Id))
            .Where(s => s.Id == self || ServerAddresses.Parse(s.Addresses).Count > 0)
            .ToList();
        if (settings.SubnetAffinity && client is not null)
        {
            var local = candidates.Where(s => ServerAddresses.OnSubnetOf(ServerAddresses.Parse(s.Addresses), client)).ToList();
            if (local.Count > 0)
            {
                candidates = local;
            }
        }

        var others = candidates.Where(s => s.Id != self).ToList();
        if (database.Offline)
        {
            // The other servers' snapshots lack the boots this one issues
            // now: the boot stays here, with the others as fail-over only.
            candidates = candidates.Where(s => s.Id == self).ToList();
        }

        if (candidates.Count == 0)
        {
            var up = rows.Where(s => s.NbdPort > 0 && ServerLiveness.StateAfter(s, asOf, settings.ServerDownAfter) == ServerState.Running).ToList();
            var why = database.Offline
                ? "the site database does not answer, and this server does not take new boots of it now (drained, or no verified copy of its version); it boots here once the database is back, or from a server that holds it"
                : holders is not null && !up.Any(s => holders.Contains(s.Id))
                ? "no running server holds a verified copy of its version yet ('streamboot vdisk replicas' shows the copies)"
                : up.Count > 0 && up.All(s => !s.Enabled) ? "every running server is drained ('streamboot server enable NAME')"
                : "every server that holds its version is drained or down";
            return new NoServer(why);
        }

        var load = candidates.ToDictionary(s => s.Id, farm.LoadOf);
        var open = candidates.Where(s => s.MaxBooting <= 0 || load[s.Id].Booting < s.MaxBooting).ToList();
        var slots = open.Any(s => s.MaxBooting <= 0) ? int.MaxValue : open.Sum(s => s.MaxBooting - load[s.Id].Booting);
        var ahead = _queue.Ahead(mac, now);
        if (open.Count == 0 || ahead >= slots)
        {
            _queue.Wait(mac, now);
            return new PlacementFull(_queue.Ahead(mac, now), load.Values.Sum(l => l.Booting));
        }

        _queue.Admitted(mac);
        var ranked = open
            .OrderBy(s => (load[s.Id].Busy + 1.0) / Math.Max(1, s.Weight))
            .ThenBy(s => s.Id == self ? 0 : 1)
            .ThenBy(s => s.Id)
            .ToList();
        var chosen = ranked[0];
        farm.Placed(chosen.Id);
        var alternates = candidates.Concat(others).DistinctBy(s => s.Id).Where(s => s.Id != chosen.Id)
            .OrderBy(s => (load.TryGetValue(s.Id, out var l) ? l.Busy + 1.0 : 1.0) / Math.Max(1, s.Weight))
            .Select(s => Describe(s, client))
            .OfType<FarmServer>()
            .ToList();
        return new Placed(new BootPlacement(chosen.Id == self ? null : Describe(chosen, client), alternates));
    }

    // The farm's load as the current transaction's placements see it.
    private FarmLoad? _farm;

    /// <summary>
    /// The servers and their load, read once per transaction: the placements
    /// that share one (a storm's, batched on SQLite) count the boots placed
    /// before them in memory instead of reading every count again. Sessions
    /// that other writes of the same transaction open or end are seen by the
    /// next transaction; until then a server's booting count can only be too
    /// high, never too low.
    /// </summary>
    private async Task<FarmLoad> FarmLoadAsync(StreambootDbContext db, CancellationToken cancellationToken)
    {
        var transaction = db.Database.CurrentTransaction?.TransactionId;
        if (_farm is { } known && transaction is not null && known.Transaction == transaction)
        {
            return known;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var since = now - settings.BootingWindow;
        var servers = await db.Servers.AsNoTracking().ToListAsync(cancellationToken);
        // Counted by the database: in a boot storm every decision would otherwise carry every recent boot's row.
        var recent = await db.Boots.AsNoTracking()
            .Where(Boot.BootingSince(since))
            .Where(b => b.ServerId != null)
            .GroupBy(b => b.ServerId)
            .Select(g => new { ServerId = g.Key, Booting = g.Count(), Pending = g.Count(b => b.StartedAt == null) })
            .ToListAsync(cancellationToken);
        var live = await db.Sessions.AsNoTracking()
            .Where(s => s.EndedAt == null && s.DeviceId != null && s.ServerId != null)
            .GroupBy(s => s.ServerId)
            .Select(g => new { ServerId = g.Key, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var farm = new FarmLoad(transaction, now, database.AsOf(now, settings.ServerDownAfter), servers);
        foreach (var s in servers)
        {
            var booting = recent.Find(b => b.ServerId == s.Id);
            farm.Loads[s.Id] = new Load(booting?.Booting ?? 0, (booting?.Pending ?? 0) + (live.Find(l => l.ServerId == s.Id)?.Count ?? 0));
        }

        _farm = farm;
        return farm;
    }

    /// <summary>
    /// The other servers a running client may fail over to: running,
    /// enabled, with an address (the one on the client's subnet); none when
    /// this is not a server (an admin's command).
    /// </summary>
    public async Task<IReadOnlyList<FarmServer>> AlternatesAsync(string? remote, CancellationToken cancellationToken)
    {
        if (serverId() is not { } self)
        {
            return [];
        }

        var now = database.AsOf(clock.GetUtcNow().UtcDateTime, settings.ServerDownAfter);
        var client = ClientOf(remote);
        await using var db = database.CreateContext();
        var rows = await db.Servers.AsNoTracking().Where(s => s.Id != self && s.Enabled && s.NbdPort > 0).ToListAsync(cancellationToken);
        return [.. rows.Where(s => ServerLiveness.StateAfter(s, now, settings.ServerDownAfter) == ServerState.Running)
            .OrderBy(s => s.Id).Select(s => Describe(s, client)).OfType<FarmServer>()];
    }

    private static FarmServer? Describe(Data.Model.Server s, IPAddress? client) =>
        ServerAddresses.For(ServerAddresses.Parse(s.Addresses), client) is { } host
            ? new FarmServer(s.Id, s.Name, host.ToString(), s.HttpPort, s.NbdPort, s.IscsiPort)
            : null;

    private static IPAddress? ClientOf(string? remote) => Decisions.BootPlanner.HostOf(remote);

    private sealed record Load(int Booting, int Busy);

    /// <summary>
    /// One transaction's view of the farm (<see cref="FarmLoadAsync"/>):
    /// servers as read (offline: as the snapshot saw their heartbeats),
    /// each one's clients booting and busy, versions' holders.
    /// </summary>
    private sealed class FarmLoad(Guid? transaction, DateTime now, DateTime asOf, List<Data.Model.Server> servers)
    {
        public Guid? Transaction { get; } = transaction;

        public DateTime Now { get; } = now;

        public DateTime AsOf { get; } = asOf;

        public List<Data.Model.Server> Servers { get; } = servers;

        public Dictionary<long, Load> Loads { get; } = [];

        public Dictionary<long, IReadOnlySet<long>?> Holders { get; } = [];

        public Load LoadOf(Data.Model.Server s) => Loads.GetValueOrDefault(s.Id) ?? new Load(0, 0);

        /// <summary>A boot placed on <paramref name="server"/> in this transaction: booting, and busy until it starts.</summary>
        public void Placed(long server)
        {
            var load = Loads.GetValueOrDefault(server) ?? new Load(0, 0);
            Loads[server] = new Load(load.Booting + 1, load.Busy + 1);
        }
    }
}
