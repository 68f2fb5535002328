using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Streamboot.Admin;
using Streamboot.Admin.Imports;
using Streamboot.Admin.Operations;
using Streamboot.Admin.Stores;
using Streamboot.Admin.Views;
using Streamboot.Api.Contracts.Operations;
using Streamboot.Api.Contracts.Requests;
using static Streamboot.Server.Api.ApiStatus;

namespace Streamboot.Server.Api;

/// <summary>The vDisk routes: the disks, their versions and replicas; import and merge run as operations.</summary>
internal static class ApiVDiskRoutes
{
    /// <summary>How long a long operation's request waits to see it under way (or refused by the Admin layer's checks).</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);


    public static void Map(RouteGroupBuilder vdisks)
    {
        vdisks.MapGet("/", async (HttpContext c, CancellationToken _) => Results.Ok(await new VDiskAdmin(AdminApi.SiteFor(c)).ListAsync(c.RequestAborted))).Answers<IReadOnlyList<VDiskView>>();
        vdisks.MapGet("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new VDiskAdmin(AdminApi.SiteFor(c)).ShowAsync(name, c.RequestAborted))).Answers<VDiskView>(Ok, NotFound);
        vdisks.MapPost("/", (HttpContext c, CancellationToken _) => ApiRequests.WithBody<VDiskCreate>(c, async body =>
        {
            if (!ByteSize.TryParse(body.Size, out var bytes, out var sizeError))
            {
                return ApiResults.Invalid($"size: {sizeError}");
            }

            return ApiResults.From(
                await new VDiskAdmin(AdminApi.SiteFor(c)).CreateAsync(body.Name ?? "", bytes, body.Access, body.WriteCacheMode, body.Description, c.RequestAborted, body.Format),
                Created);
        })).Admin().Body<VDiskCreate>().Answers<VDiskView>(Created, Invalid, Conflict);
        vdisks.MapPatch("/{name}", (HttpContext c, string name) => ApiRequests.WithBody<VDiskChanges>(c, async body =>
            ApiResults.From(await new VDiskAdmin(AdminApi.SiteFor(c)).SetAsync(name, body, c.RequestAborted)))).Admin().Body<VDiskChanges>().Answers<VDiskView>(Ok, Invalid, NotFound);
        vdisks.MapDelete("/{name}", async (HttpContext c, string name, bool? force, bool? keepFiles) =>
            ApiResults.From(await new VDiskAdmin(AdminApi.SiteFor(c)).DeleteAsync(name, force == true, keepFiles == true, c.RequestAborted))).Admin().Answers<VDiskDeletionView>(Ok, NotFound, Conflict);
        vdisks.MapPost("/import", (HttpContext c, CancellationToken _) => ApiRequests.WithBody<VDiskImport>(c, body =>
        {
            var server = c.RequestServices.GetRequiredService<AdminSite>();
            if (ImportSource.Check(body.Path, ImportSource.AllowedFolders(AdminApi.Options(c).ApiImportFolders, server.DataFolder)) is { } error)
            {
                return Task.FromResult(ApiResults.Problem(error));
            }

            var site = AdminApi.SiteFor(c);
            var name = body.Name ?? "";
            return ApiOperations.AcceptAsync(c, "vdisk.import", name, async (progress, ct) =>
                Boxed(await new VDiskAdmin(site).ImportAsync(name, body.Path, body.SourceFormat, body.Format, body.Access, body.WriteCacheMode, body.Description, progress, ct)));
        })).Admin().Body<VDiskImport>().Answers<ApiOperationView>(Accepted, Invalid, NotFound, Conflict, TooMany);

        vdisks.MapPost("/{name}/versions", (HttpContext c, string name) => ApiRequests.WithBody<VersionChange>(c, async body =>
            ApiResults.From(await new VersionAdmin(AdminApi.SiteFor(c)).NewAsync(name, body.Description, c.RequestAborted), Created), optional: true)).Admin().Body<VersionChange>(optional: true).Answers<VDiskView>(Created, NotFound, Conflict);
        vdisks.MapPost("/{name}/promote", (HttpContext c, string name) => ApiRequests.WithBody<VersionChange>(c, async body =>
            ApiResults.From(await new VersionAdmin(AdminApi.SiteFor(c)).PromoteAsync(name, body.To, c.RequestAborted)), optional: true)).Admin().Body<VersionChange>(optional: true).Answers<VDiskView>(Ok, Invalid, NotFound, Conflict);
        vdisks.MapPost("/{name}/rollback", async (HttpContext c, string name) =>
            ApiResults.From(await new VersionAdmin(AdminApi.SiteFor(c)).RollbackAsync(name, c.RequestAborted))).Admin().Answers<VDiskView>(Ok, NotFound, Conflict);
        vdisks.MapPost("/{name}/merge", (HttpContext c, string name) =>
        {
            var site = AdminApi.SiteFor(c);
            return ApiOperations.AcceptAsync(c, "vdisk.version.merge", name, async (progress, ct) => Boxed(await new VersionAdmin(site).MergeAsync(name, progress, ct)));
        }).Admin().Answers<ApiOperationView>(Accepted, NotFound, Conflict, TooMany);
        // Prune removes rows and deletes files; it copies nothing, so it answers at once.
        vdisks.MapPost("/{name}/prune", async (HttpContext c, string name) =>
            ApiResults.From(await new VersionAdmin(AdminApi.SiteFor(c)).PruneAsync(name, c.RequestAborted))).Admin().Answers<VDiskView>(Ok, NotFound, Conflict);
        vdisks.MapGet("/{name}/replicas", async (HttpContext c, string name) =>
            ApiResults.From(await new StoreAdmin(AdminApi.SiteFor(c)).ReplicasAsync(name, c.RequestAborted))).Answers<VDiskReplicasView>(Ok, NotFound);
    }

    public static void MapOperations(RouteGroupBuilder operations) =>
        operations.MapGet("/{id}", (HttpContext c, string id) =>
            c.RequestServices.GetRequiredService<SiteOperations>().Find(id) is { } operation
                ? Results.Ok(ApiOperations.View(operation))
                : ApiResults.Problem(AdminError.NotFound($"there is no operation '{ClientText.ForLog(id, 64)}' (finished operations are kept for STREAMBOOT_API_OPERATION_KEEP_SECONDS, the newest STREAMBOOT_API_MAX_OPERATIONS of them)")))
            .Answers<ApiOperationView>(Ok, NotFound);

    internal static AdminResult<object> Boxed<T>(AdminResult<T> result) => result.Ok ? result.Value! : result.Error;
}
