using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Streamboot.Admin;
using Streamboot.Admin.Access;
using Streamboot.Admin.Views;
using Streamboot.Api.Contracts.Requests;
using static Streamboot.Server.Api.ApiStatus;

namespace Streamboot.Server.Api;

/// <summary>The routes of devices, collections and tokens, one Admin-layer call each.</summary>
internal static class ApiRoutes
{
    public static void MapDevices(RouteGroupBuilder devices)
    {
        devices.MapGet("/", async (HttpContext c, string? collection) =>
            ApiResults.From(await new DeviceAdmin(AdminApi.SiteFor(c)).ListAsync(collection, c.RequestAborted))).Answers<IReadOnlyList<DeviceView>>(Ok, NotFound);
        devices.MapGet("/{key}", async (HttpContext c, string key) =>
            ApiResults.From(await new DeviceAdmin(AdminApi.SiteFor(c)).ShowAsync(key, c.RequestAborted))).Answers<DeviceView>(Ok, NotFound);
        devices.MapPost("/", (HttpContext c, CancellationToken _) => ApiRequests.WithBody<DeviceCreate>(c, async body =>
            ApiResults.From(
                await new DeviceAdmin(AdminApi.SiteFor(c)).AddAsync(
                    body.Mac ?? "",
                    new DeviceChanges(body.Name, null, body.Collection, body.Description, body.Type, body.WriteCacheMode, body.Enabled, body.PersistentWriteCache, body.IpAddress, body.BootLoader),
                    c.RequestAborted),
                Created))).Admin().Body<DeviceCreate>().Answers<DeviceView>(Created, Invalid, NotFound, Conflict);
        devices.MapPatch("/{key}", (HttpContext c, string key) => ApiRequests.WithBody<DeviceChanges>(c, async body =>
            ApiResults.From(await new DeviceAdmin(AdminApi.SiteFor(c)).SetAsync(key, body, c.RequestAborted)))).Admin().Body<DeviceChanges>().Answers<DeviceView>(Ok, Invalid, NotFound, Conflict);
        devices.MapDelete("/{key}", async (HttpContext c, string key) =>
            ApiResults.From(await new DeviceAdmin(AdminApi.SiteFor(c)).DeleteAsync(key, c.RequestAborted))).Admin().Answers<DeviceView>(Ok, NotFound, Conflict);
        devices.MapPost("/{key}/assignments", (HttpContext c, string key) => ApiRequests.WithBody<AssignmentCreate>(c, async body =>
            ApiResults.From(await new AssignmentAdmin(AdminApi.SiteFor(c)).AssignAsync(key, body.VDisk ?? "", body.Default, c.RequestAborted)))).Admin().Body<AssignmentCreate>().Answers<DeviceView>(Ok, Invalid, NotFound, Conflict);
        devices.MapDelete("/{key}/assignments/{vdisk}", async (HttpContext c, string key, string vdisk) =>
            ApiResults.From(await new AssignmentAdmin(AdminApi.SiteFor(c)).UnassignAsync(key, vdisk, c.RequestAborted))).Admin().Answers<DeviceView>(Ok, NotFound, Conflict);
    }

    public static void MapCollections(RouteGroupBuilder collections)
    {
        collections.MapGet("/", async (HttpContext c, CancellationToken _) => Results.Ok(await new CollectionAdmin(AdminApi.SiteFor(c)).ListAsync(c.RequestAborted))).Answers<IReadOnlyList<CollectionView>>();
        collections.MapGet("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new CollectionAdmin(AdminApi.SiteFor(c)).ShowAsync(name, c.RequestAborted))).Answers<CollectionView>(Ok, NotFound);
        collections.MapPost("/", (HttpContext c, CancellationToken _) => ApiRequests.WithBody<CollectionCreate>(c, async body =>
            ApiResults.From(
                await new CollectionAdmin(AdminApi.SiteFor(c)).AddAsync(
                    body.Name ?? "",
                    new CollectionChanges(null, body.Description, body.NamingPattern, body.UnknownDevicePolicy, body.DefaultVDisk, body.ReceivesUnknown, body.BootProtocol, body.BootLoader),
                    c.RequestAborted),
                Created))).Admin().Body<CollectionCreate>().Answers<CollectionView>(Created, Invalid, NotFound, Conflict);
        collections.MapPatch("/{name}", (HttpContext c, string name) => ApiRequests.WithBody<CollectionChanges>(c, async body =>
            ApiResults.From(await new CollectionAdmin(AdminApi.SiteFor(c)).SetAsync(name, body, c.RequestAborted)))).Admin().Body<CollectionChanges>().Answers<CollectionView>(Ok, Invalid, NotFound, Conflict);
        collections.MapDelete("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new CollectionAdmin(AdminApi.SiteFor(c)).DeleteAsync(name, c.RequestAborted))).Admin().Answers<CollectionView>(Ok, NotFound, Conflict);
    }

    public static void MapTokens(RouteGroupBuilder tokens)
    {
        // Tokens are the keys to the site: listing them (names, scopes, no secrets) needs admin too.
        tokens.MapGet("/", async (HttpContext c, CancellationToken _) => Results.Ok(await new AccessAdmin(AdminApi.SiteFor(c)).ListTokensAsync(c.RequestAborted))).Admin().Answers<IReadOnlyList<TokenView>>();
        tokens.MapPost("/", (HttpContext c, CancellationToken _) => ApiRequests.WithBody<TokenCreate>(c, async body =>
            ApiResults.From(await new AccessAdmin(AdminApi.SiteFor(c)).CreateTokenAsync(body.Name ?? "", body.Scope ?? "", c.RequestAborted), Created))).Admin().Body<TokenCreate>().Answers<NewToken>(Created, Invalid, Conflict);
        tokens.MapDelete("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new AccessAdmin(AdminApi.SiteFor(c)).RevokeTokenAsync(name, c.RequestAborted))).Admin().Answers<TokenView>(Ok, NotFound);
    }
}
