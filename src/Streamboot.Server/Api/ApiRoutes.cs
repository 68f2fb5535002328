using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Streamboot.Admin;
using Streamboot.Admin.Access;

namespace Streamboot.Server.Api;

/// <summary>A device to add: its MAC and, optionally, every field <c>device add</c> takes.</summary>
public sealed record DeviceCreate(
    string Mac,
    string? Name = null,
    string? Collection = null,
    string? Description = null,
    string? Type = null,
    string? WriteCacheMode = null,
    bool? Enabled = null,
    bool? PersistentWriteCache = null,
    string? IpAddress = null);

/// <summary>A vDisk to assign to a device, as its default boot or as another entry of its menu.</summary>
public sealed record AssignmentCreate(string VDisk, bool Default = false);

/// <summary>A collection to add, with the fields <c>collection add</c> takes.</summary>
public sealed record CollectionCreate(
    string Name,
    string? Description = null,
    string? NamingPattern = null,
    string? UnknownDevicePolicy = null,
    string? DefaultVDisk = null,
    bool? ReceivesUnknown = null,
    string? BootProtocol = null);

/// <summary>A token to make; its secret comes back once, in the answer.</summary>
public sealed record TokenCreate(string Name, string Scope);

/// <summary>A new version of a vDisk (<c>vdisk version new</c>), or its promotion.</summary>
public sealed record VersionChange(string? Description = null, string? To = null);

/// <summary>The routes of <see cref="AdminApi"/>, one Admin-layer call each.</summary>
internal static class ApiRoutes
{
    /// <summary>A request body larger than this is refused before it is read: no admin change needs more.</summary>
    public const int MaxBodyBytes = 64 << 10;

    public static void MapDevices(RouteGroupBuilder devices)
    {
        devices.MapGet("/", async (HttpContext c, string? collection) =>
            ApiResults.From(await new DeviceAdmin(AdminApi.SiteFor(c)).ListAsync(collection, c.RequestAborted)));
        devices.MapGet("/{key}", async (HttpContext c, string key) =>
            ApiResults.From(await new DeviceAdmin(AdminApi.SiteFor(c)).ShowAsync(key, c.RequestAborted)));
        devices.MapPost("/", (HttpContext c, CancellationToken _) => WithBody<DeviceCreate>(c, async body =>
            ApiResults.From(
                await new DeviceAdmin(AdminApi.SiteFor(c)).AddAsync(
                    body.Mac ?? "",
                    new DeviceChanges(body.Name, null, body.Collection, body.Description, body.Type, body.WriteCacheMode, body.Enabled, body.PersistentWriteCache, body.IpAddress),
                    c.RequestAborted),
                StatusCodes.Status201Created))).Admin();
        devices.MapPatch("/{key}", (HttpContext c, string key) => WithBody<DeviceChanges>(c, async body =>
            ApiResults.From(await new DeviceAdmin(AdminApi.SiteFor(c)).SetAsync(key, body, c.RequestAborted)))).Admin();
        devices.MapDelete("/{key}", async (HttpContext c, string key) =>
            ApiResults.From(await new DeviceAdmin(AdminApi.SiteFor(c)).DeleteAsync(key, c.RequestAborted))).Admin();
        devices.MapPost("/{key}/assignments", (HttpContext c, string key) => WithBody<AssignmentCreate>(c, async body =>
            ApiResults.From(await new AssignmentAdmin(AdminApi.SiteFor(c)).AssignAsync(key, body.VDisk ?? "", body.Default, c.RequestAborted)))).Admin();
        devices.MapDelete("/{key}/assignments/{vdisk}", async (HttpContext c, string key, string vdisk) =>
            ApiResults.From(await new AssignmentAdmin(AdminApi.SiteFor(c)).UnassignAsync(key, vdisk, c.RequestAborted))).Admin();
    }

    public static void MapCollections(RouteGroupBuilder collections)
    {
        collections.MapGet("/", async (HttpContext c, CancellationToken _) => Results.Ok(await new CollectionAdmin(AdminApi.SiteFor(c)).ListAsync(c.RequestAborted)));
        collections.MapGet("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new CollectionAdmin(AdminApi.SiteFor(c)).ShowAsync(name, c.RequestAborted)));
        collections.MapPost("/", (HttpContext c, CancellationToken _) => WithBody<CollectionCreate>(c, async body =>
            ApiResults.From(
                await new CollectionAdmin(AdminApi.SiteFor(c)).AddAsync(
                    body.Name ?? "",
                    new CollectionChanges(null, body.Description, body.NamingPattern, body.UnknownDevicePolicy, body.DefaultVDisk, body.ReceivesUnknown, body.BootProtocol),
                    c.RequestAborted),
                StatusCodes.Status201Created))).Admin();
        collections.MapPatch("/{name}", (HttpContext c, string name) => WithBody<CollectionChanges>(c, async body =>
            ApiResults.From(await new CollectionAdmin(AdminApi.SiteFor(c)).SetAsync(name, body, c.RequestAborted)))).Admin();
        collections.MapDelete("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new CollectionAdmin(AdminApi.SiteFor(c)).DeleteAsync(name, c.RequestAborted))).Admin();
    }

    public static void MapVDisks(RouteGroupBuilder vdisks)
    {
        vdisks.MapGet("/", async (HttpContext c, CancellationToken _) => Results.Ok(await new VDiskAdmin(AdminApi.SiteFor(c)).ListAsync(c.RequestAborted)));
        vdisks.MapGet("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new VDiskAdmin(AdminApi.SiteFor(c)).ShowAsync(name, c.RequestAborted)));
        vdisks.MapPatch("/{name}", (HttpContext c, string name) => WithBody<VDiskChanges>(c, async body =>
            ApiResults.From(await new VDiskAdmin(AdminApi.SiteFor(c)).SetAsync(name, body, c.RequestAborted)))).Admin();
        vdisks.MapPost("/{name}/versions", (HttpContext c, string name) => WithBody<VersionChange>(c, async body =>
            ApiResults.From(await new VersionAdmin(AdminApi.SiteFor(c)).NewAsync(name, body.Description, c.RequestAborted), StatusCodes.Status201Created), optional: true)).Admin();
        vdisks.MapPost("/{name}/promote", (HttpContext c, string name) => WithBody<VersionChange>(c, async body =>
            ApiResults.From(await new VersionAdmin(AdminApi.SiteFor(c)).PromoteAsync(name, body.To, c.RequestAborted)), optional: true)).Admin();
        vdisks.MapPost("/{name}/rollback", async (HttpContext c, string name) =>
            ApiResults.From(await new VersionAdmin(AdminApi.SiteFor(c)).RollbackAsync(name, c.RequestAborted))).Admin();
    }

    public static void MapSite(RouteGroupBuilder api)
    {
        api.MapGet("/sessions", async (HttpContext c, bool? all) =>
            Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).SessionsAsync(all == true, c.RequestAborted))).WithTags("sessions");
        api.MapGet("/servers", async (HttpContext c, CancellationToken _) =>
        {
            var options = AdminApi.Options(c);
            return Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).ServersAsync(
                TimeSpan.FromSeconds(Math.Max(1, options.ServerDownSeconds)), TimeSpan.FromSeconds(Math.Max(1, options.BootingSeconds)), c.RequestAborted));
        }).WithTags("servers");
        api.MapPost("/servers/{name}/drain", async (HttpContext c, string name) =>
            ApiResults.From(await new ServerAdmin(AdminApi.SiteFor(c)).DrainAsync(name, c.RequestAborted))).WithTags("servers").Admin();
        api.MapPost("/servers/{name}/enable", async (HttpContext c, string name) =>
            ApiResults.From(await new ServerAdmin(AdminApi.SiteFor(c)).EnableAsync(name, c.RequestAborted))).WithTags("servers").Admin();
        api.MapGet("/leases", async (HttpContext c, CancellationToken _) => Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).LeasesAsync(c.RequestAborted))).WithTags("dhcp");
        api.MapGet("/audit", async (HttpContext c, int? limit) =>
            limit is < 1 or > 10_000
                ? ApiResults.Invalid($"limit {limit} is out of range; give 1 to 10000 entries (default 100)")
                : Results.Ok(await new SiteQueries(AdminApi.SiteFor(c)).AuditAsync(limit ?? 100, c.RequestAborted))).WithTags("audit");
    }

    public static void MapTokens(RouteGroupBuilder tokens)
    {
        // Tokens are the keys to the site: listing them (names, scopes, no secrets) needs admin too.
        tokens.MapGet("/", async (HttpContext c, CancellationToken _) => Results.Ok(await new AccessAdmin(AdminApi.SiteFor(c)).ListTokensAsync(c.RequestAborted))).Admin();
        tokens.MapPost("/", (HttpContext c, CancellationToken _) => WithBody<TokenCreate>(c, async body =>
            ApiResults.From(await new AccessAdmin(AdminApi.SiteFor(c)).CreateTokenAsync(body.Name ?? "", body.Scope ?? "", c.RequestAborted), StatusCodes.Status201Created))).Admin();
        tokens.MapDelete("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new AccessAdmin(AdminApi.SiteFor(c)).RevokeTokenAsync(name, c.RequestAborted))).Admin();
    }

    private static RouteHandlerBuilder Admin(this RouteHandlerBuilder route) => route.RequireAuthorization(ApiAuthentication.AdminPolicy);

    /// <summary>
    /// Reads the JSON body (at most <see cref="MaxBodyBytes"/>), answering a
    /// missing, oversized or malformed one with a problem that says so.
    /// </summary>
    private static async Task<IResult> WithBody<T>(HttpContext context, Func<T, Task<IResult>> handle, bool optional = false)
        where T : class
    {
        var request = context.Request;
        if (request.ContentLength is > MaxBodyBytes)
        {
            return Results.Problem(detail: $"the request body is larger than {MaxBodyBytes / 1024} KiB; an admin change needs far less", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        var empty = request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.TransferEncoding.Any());
        if (empty && optional)
        {
            return await handle(JsonSerializer.Deserialize<T>("{}", JsonOptionsOf(context))!);
        }

        if (empty || !request.HasJsonContentType())
        {
            return ApiResults.Invalid($"this needs a JSON body (Content-Type: application/json) with the fields of {typeof(T).Name}; /openapi/v1.json describes them");
        }

        var limited = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            if (limited.Length + read > MaxBodyBytes)
            {
                return Results.Problem(detail: $"the request body is larger than {MaxBodyBytes / 1024} KiB; an admin change needs far less", statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            limited.Write(buffer, 0, read);
        }

        T? body;
        try
        {
            body = JsonSerializer.Deserialize<T>(limited.GetBuffer().AsSpan(0, (int)limited.Length), JsonOptionsOf(context));
        }
        catch (JsonException e)
        {
            // The parser's own message names the path and the position, not the client's text.
            return ApiResults.Invalid($"the body is not the JSON of {typeof(T).Name}: {ClientText.ForLog(e.Message, 200)}");
        }

        return body is null ? ApiResults.Invalid($"the body is null; send the JSON of {typeof(T).Name}") : await handle(body);
    }

    private static JsonSerializerOptions JsonOptionsOf(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
}
