using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Streamboot.Admin;
using Streamboot.Admin.Rebalancing;
using Streamboot.Admin.Stores;
using Streamboot.Admin.Views;
using Streamboot.Sessions.Decisions;
using static Streamboot.Server.Api.ApiStatus;

namespace Streamboot.Server.Api;

/// <summary>A server's farm settings to change (<c>server set</c>).</summary>
public sealed record ServerChange(int? Weight = null);

/// <summary>Site-wide settings to change (<c>site set</c>): how vDisks are stored, shared or replicated.</summary>
public sealed record SiteChange(string? Store = null);

/// <summary>A boot of a device to issue (<c>session key</c>): which of its vDisks, when it has several.</summary>
public sealed record BootCreate([property: JsonPropertyName("vdisk")] string? VDisk = null);

/// <summary>What a rebalance or a drain with a move did (or, dry, would do): as <c>server rebalance --json</c> prints it.</summary>
public sealed record RebalanceResult(bool DryRun, string? Skipped, IReadOnlyList<ServerShare> Shares, IReadOnlyList<RebalanceMove> Moves)
{
    public static RebalanceResult Of(RebalancePlan plan, bool dryRun) => new(dryRun, plan.Skipped, plan.Shares, plan.Moves);
}

/// <summary>The site's routes: sessions and boots, servers of the farm, DHCP leases, the audit log, the site's store.</summary>
internal static class ApiSiteRoutes
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/sessions", async (HttpContext c, bool? all) =>
            Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).SessionsAsync(all == true, c.RequestAborted))).WithTags("sessions").Answers<IReadOnlyList<SessionView>>();
        // What 'session list' shows below the sessions: devices whose last boot was refused, and why.
        api.MapGet("/sessions/refused", async (HttpContext c, bool? all) =>
            Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).RefusedBootsAsync(all == true, c.RequestAborted))).WithTags("sessions").Answers<IReadOnlyList<RefusedBootView>>();
        // A boot's key opens the device's disk: issuing one is a change, for admin tokens only.
        api.MapPost("/devices/{key}/boots", (HttpContext c, string key) => ApiRequests.WithBody<BootCreate>(c, async body =>
            ApiResults.From(await AdminBoots.IssueAsync(AdminApi.SiteFor(c), key, body.VDisk, c.RequestAborted), Created), optional: true))
            .WithTags("sessions").Admin().Body<BootCreate>(optional: true).Answers<IssuedBoot>(Created, Invalid, NotFound, Conflict);

        MapServers(api);
        api.MapGet("/leases", async (HttpContext c, CancellationToken _) => Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).LeasesAsync(c.RequestAborted))).WithTags("dhcp").Answers<IReadOnlyList<LeaseView>>();
        api.MapGet("/audit", async (HttpContext c, int? limit) =>
            limit is < 1 or > 10_000
                ? ApiResults.Invalid($"limit {limit} is out of range; give 1 to 10000 entries (default 100)")
                : Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).AuditAsync(limit ?? 100, c.RequestAborted))).WithTags("audit").Answers<IReadOnlyList<AuditView>>(Ok, Invalid);
        api.MapGet("/site", async (HttpContext c, CancellationToken _) => Results.Ok(await new StoreAdmin(AdminApi.SiteFor(c)).InfoAsync(c.RequestAborted))).WithTags("site").Answers<SiteInfoView>();
        api.MapPatch("/site", (HttpContext c, CancellationToken _) => ApiRequests.WithBody<SiteChange>(c, async body =>
            body.Store is null
                ? ApiResults.Invalid("nothing to change; give store (shared or replicated)")
                : ApiResults.From(await new StoreAdmin(AdminApi.SiteFor(c)).SetStoreAsync(body.Store, c.RequestAborted))))
            .WithTags("site").Admin().Body<SiteChange>().Answers<SiteInfoView>(Ok, Invalid, Conflict);
    }

    private static void MapServers(RouteGroupBuilder api)
    {
        var servers = api.MapGroup("/servers").WithTags("servers");
        servers.MapGet("/", async (HttpContext c, CancellationToken _) =>
        {
            var options = AdminApi.Options(c);
            return Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).ServersAsync(DownAfter(c), TimeSpan.FromSeconds(Math.Max(1, options.BootingSeconds)), c.RequestAborted));
        }).Answers<IReadOnlyList<ServerView>>();
        servers.MapPost("/{name}/drain", async (HttpContext c, string name, bool? move) =>
            move == true
                ? ApiResults.From(Boxed(await Rebalance(c).DrainAndMoveAsync(name, c.RequestAborted), plan => RebalanceResult.Of(plan, dryRun: false)))
                : ApiResults.From(await new ServerAdmin(AdminApi.SiteFor(c)).DrainAsync(name, c.RequestAborted)))
            .Admin().Answers<string>(Ok, NotFound).Produces<RebalanceResult>();
        servers.MapPost("/{name}/enable", async (HttpContext c, string name) =>
            ApiResults.From(await new ServerAdmin(AdminApi.SiteFor(c)).EnableAsync(name, c.RequestAborted))).Admin().Answers<string>(Ok, NotFound);
        servers.MapPatch("/{name}", (HttpContext c, string name) => ApiRequests.WithBody<ServerChange>(c, async body =>
            body.Weight is not { } weight
                ? ApiResults.Invalid("nothing to change; give weight")
                : ApiResults.From(await new ServerAdmin(AdminApi.SiteFor(c)).SetWeightAsync(name, weight, c.RequestAborted))))
            .Admin().Body<ServerChange>().Answers<string>(Ok, Invalid, NotFound);
        servers.MapDelete("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new ServerAdmin(AdminApi.SiteFor(c)).RemoveAsync(name, DownAfter(c), c.RequestAborted))).Admin().Answers<string>(Ok, NotFound, Conflict);
        servers.MapPost("/rebalance", async (HttpContext c, bool? dryRun) =>
            Results.Ok(RebalanceResult.Of(await Rebalance(c).RebalanceAsync(dryRun == true, c.RequestAborted), dryRun == true))).Admin().Answers<RebalanceResult>();
    }

    private static ServerRebalance Rebalance(HttpContext c) =>
        new(AdminApi.SiteFor(c), DownAfter(c), TimeSpan.FromSeconds(Math.Max(1, AdminApi.Options(c).BootingSeconds)));

    private static TimeSpan DownAfter(HttpContext c) => TimeSpan.FromSeconds(Math.Max(1, AdminApi.Options(c).ServerDownSeconds));

    private static AdminResult<TOut> Boxed<TIn, TOut>(AdminResult<TIn> result, Func<TIn, TOut> map) => result.Ok ? map(result.Value) : result.Error;
}
