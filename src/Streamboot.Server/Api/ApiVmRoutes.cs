using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Streamboot.Admin.Areas;
using Streamboot.Admin.Views;
using Streamboot.Admin.VirtualMachines;
using Streamboot.Api.Contracts.Operations;
using Streamboot.Api.Contracts.Requests;
using static Streamboot.Server.Api.ApiStatus;

namespace Streamboot.Server.Api;

/// <summary>
/// The VM routes, all of them admin-only, reads included: a VM runs QEMU as
/// the server's user, and its view names files of the server. Left out:
/// <c>vm console</c> (an interactive terminal; <c>GET .../console</c> gives
/// its log) and the wizard (its questions are <see cref="VmCreate"/>'s fields).
/// </summary>
internal static class ApiVmRoutes
{
    public static void Map(RouteGroupBuilder vms)
    {
        vms.RequireAuthorization(ApiAuthentication.AdminPolicy);
        vms.MapGet("/", async (HttpContext c, CancellationToken _) => ApiResults.From(await Vms(c).ListAsync(c.RequestAborted))).Answers<IReadOnlyList<VmView>>();
        vms.MapGet("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await Vms(c).ShowAsync(name, c.RequestAborted))).Answers<VmView>(Ok, NotFound);
        vms.MapGet("/{name}/console", async (HttpContext c, string name) =>
        {
            var log = await Vms(c).ConsoleAsync(name, c.RequestAborted);
            return log.Ok ? Results.Text(log.Value, "text/plain; charset=utf-8") : ApiResults.Problem(log.Error);
        }).Produces<string>(Ok, "text/plain").ProducesProblem(NotFound);
        vms.MapPost("/", (HttpContext c, CancellationToken _) => ApiRequests.WithBody<VmCreate>(c, async body =>
        {
            var request = body.ToRequest(out var usage);
            if (request is null)
            {
                return ApiResults.Invalid(usage!);
            }

            return ApiResults.From(await Vms(c).CreateAsync(request, c.RequestAborted), Created);
        })).Body<VmCreate>().Answers<VmView>(Created, Invalid, NotFound, Conflict);
        vms.MapPost("/{name}/start", (HttpContext c, string name) => ApiRequests.WithBody<VmStart>(c, async body =>
            ApiResults.From(await Vms(c).StartAsync(name, body.Accel, body.ServerPort, c.RequestAborted)), optional: true)).Body<VmStart>(optional: true).Answers<VmStarted>(Ok, Invalid, NotFound, Conflict);
        vms.MapPost("/{name}/stop", async (HttpContext c, string name, int? timeout, bool? hard) =>
        {
            var seconds = timeout ?? 60;
            if (seconds is < 0 or > 3600)
            {
                return ApiResults.Invalid($"timeout {seconds.ToString(CultureInfo.InvariantCulture)} is out of range; give 0 to 3600 seconds");
            }

            return ApiResults.From(await Vms(c).StopAsync(name, TimeSpan.FromSeconds(seconds), hard == true, c.RequestAborted));
        }).Answers<VmStopped>(Ok, Invalid, NotFound);
        vms.MapDelete("/{name}", async (HttpContext c, string name, bool? keepFiles) =>
            ApiResults.From(await Vms(c).DeleteAsync(name, keepFiles == true, c.RequestAborted))).Answers<VmView>(Ok, NotFound, Conflict);
        vms.MapGet("/{name}/snapshots", async (HttpContext c, string name) =>
            ApiResults.From(await Vms(c).SnapshotsAsync(name, c.RequestAborted))).Answers<IReadOnlyList<VmSnapshotView>>(Ok, NotFound, Conflict);
        vms.MapPost("/{name}/snapshots", (HttpContext c, string name) => ApiRequests.WithBody<VmSnapshotTake>(c, async body =>
            ApiResults.From(await Vms(c).TakeSnapshotAsync(name, body.Name ?? "", c.RequestAborted), Created))).Body<VmSnapshotTake>().Answers<VmSnapshotView>(Created, Invalid, NotFound, Conflict);
        vms.MapPost("/{name}/snapshots/{snapshot}/revert", async (HttpContext c, string name, string snapshot) =>
            ApiResults.From(await Vms(c).RevertSnapshotAsync(name, snapshot, c.RequestAborted))).Answers<VmSnapshotView>(Ok, NotFound, Conflict);
        vms.MapDelete("/{name}/snapshots/{snapshot}", async (HttpContext c, string name, string snapshot) =>
            ApiResults.From(await Vms(c).DeleteSnapshotAsync(name, snapshot, c.RequestAborted))).Answers<VmSnapshotView>(Ok, NotFound, Conflict);
        vms.MapPost("/{name}/capture", (HttpContext c, string name) => ApiRequests.WithBody<VmCapture>(c, body =>
        {
            var site = AdminApi.SiteFor(c);
            var vdisk = body.VDisk ?? "";
            return ApiOperations.AcceptAsync(c, "vm.capture", vdisk, async (progress, ct) =>
                ApiVDiskRoutes.Boxed(await new VmArea(site).CaptureAsync(name, vdisk, body.NewVersion, body.Format, body.Access, body.WriteCacheMode, body.Description, body.Stage, progress, ct)));
        })).Body<VmCapture>().Answers<ApiOperationView>(Accepted, Invalid, NotFound, Conflict, TooMany);
    }

    /// <summary>The VM verbs as the caller, with this server's settings for a netboot VM's server (<see cref="Admin.AdminSite.Farm"/>).</summary>
    private static IVmAdmin Vms(HttpContext c) => new VmArea(AdminApi.SiteFor(c));
}
