using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Streamboot.Admin;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Stores;
using Streamboot.Admin.Views;
using Streamboot.Api.Contracts;
using Streamboot.Api.Contracts.Requests;
using Streamboot.Sessions.Decisions;
using static Streamboot.Server.Api.ApiStatus;

namespace Streamboot.Server.Api;

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
            ApiResults.From(await new AdminBoots(AdminApi.SiteFor(c)).IssueAsync(key, body.VDisk, c.RequestAborted), Created), optional: true))
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
        servers.MapGet("/", async (HttpContext c, CancellationToken _) => ApiResults.From(await Servers(c).ListAsync(c.RequestAborted))).Answers<IReadOnlyList<ServerView>>();
        servers.MapPost("/{name}/drain", async (HttpContext c, string name, bool? move) =>
            move == true
                ? ApiResults.From(Boxed(await Servers(c).DrainAndMoveAsync(name, c.RequestAborted), plan => RebalanceResult.Of(plan, dryRun: false)))
                : ApiResults.From(await Servers(c).DrainAsync(name, c.RequestAborted)))
            .Admin().Answers<string>(Ok, NotFound).Produces<RebalanceResult>();
        servers.MapPost("/{name}/enable", async (HttpContext c, string name) =>
            ApiResults.From(await Servers(c).EnableAsync(name, c.RequestAborted))).Admin().Answers<string>(Ok, NotFound);
        servers.MapPatch("/{name}", (HttpContext c, string name) => ApiRequests.WithBody<ServerChange>(c, async body =>
            body.Weight is not { } weight
                ? ApiResults.Invalid("nothing to change; give weight")
                : ApiResults.From(await Servers(c).SetWeightAsync(name, weight, c.RequestAborted))))
            .Admin().Body<ServerChange>().Answers<string>(Ok, Invalid, NotFound);
        servers.MapDelete("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await Servers(c).RemoveAsync(name, c.RequestAborted))).Admin().Answers<string>(Ok, NotFound, Conflict);
        servers.MapPost("/rebalance", async (HttpContext c, bool? dryRun) =>
            ApiResults.From(Boxed(await Servers(c).RebalanceAsync(dryRun == true, c.RequestAborted), plan => RebalanceResult.Of(plan, dryRun == true)))).Admin().Answers<RebalanceResult>();
    }

    /// <summary>The farm's servers as the caller changes them, judged by this server's settings (<see cref="AdminSite.Farm"/>).</summary>
    private static IServerAdmin Servers(HttpContext c) => new ServerAdmin(AdminApi.SiteFor(c));

    private static AdminResult<TOut> Boxed<TIn, TOut>(AdminResult<TIn> result, Func<TIn, TOut> map) => result.Ok ? map(result.Value) : result.Error;
}
