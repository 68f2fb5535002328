using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Streamboot.Admin.Views;
using Streamboot.Admin.VirtualMachines;
using Streamboot.Vms;
using static Streamboot.Server.Api.ApiStatus;

namespace Streamboot.Server.Api;

/// <summary>
/// A VM to make (<c>vm create</c> with flags): every question of the wizard
/// as a field, sizes as the command line writes them ("4G", "2048").
/// Paths (<see cref="InstallerIso"/>, <see cref="Folder"/>, <see cref="DiskFile"/>)
/// are on the server. The password goes into the seed only, as with the command line.
/// </summary>
public sealed record VmCreate(
    string Name,
    string? Folder = null,
    string? MachineType = null,
    string? GuestOs = null,
    string? GuestOsVersion = null,
    string? InstallerIso = null,
    string? FullName = null,
    string? UserName = null,
    string? Password = null,
    string? HostName = null,
    int? Sockets = null,
    int? CoresPerSocket = null,
    string? Memory = null,
    string? DiskSize = null,
    string? DiskFile = null,
    string? DiskFormat = null,
    bool Preallocate = false,
    string? Firmware = null,
    string? Network = null,
    string? Bridge = null,
    string? Collection = null,
    string? Mac = null)
{
    /// <summary>Every field but the password stays out of the text (a record prints all its members).</summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Name = {Name}, GuestOs = {GuestOs}, InstallerIso = {InstallerIso}, UserName = {UserName}, Password = {(Password is null ? "(none)" : "(hidden)")}");
        return true;
    }
}

/// <summary>How to start a VM (<c>vm start</c>): the accelerator, and the port a NAT netboot VM boots from.</summary>
public sealed record VmStart(string? Accel = null, int? ServerPort = null);

/// <summary>A started VM: its QEMU process, and where a netboot VM boots from.</summary>
public sealed record VmStarted(VmView Vm, int Pid, string Accelerator, string? Note, string? NetbootUrl);

/// <summary>How a stop went: not running, powered off, or stopped hard (after the timeout or at once).</summary>
public sealed record VmStopped(string Name, string Outcome, double Seconds);

/// <summary>A VM's disk to capture as a vDisk, or as the next version of one (<c>vm capture</c>).</summary>
public sealed record VmCapture(
    [property: JsonPropertyName("vdisk")] string VDisk,
    bool NewVersion = false,
    string? Stage = null,
    string? Format = null,
    string? Access = null,
    string? WriteCacheMode = null,
    string? Description = null);

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
        vms.MapGet("/", async (HttpContext c, CancellationToken _) => Results.Ok(await new VmAdmin(AdminApi.SiteFor(c)).ListAsync(c.RequestAborted))).Answers<IReadOnlyList<VmView>>();
        vms.MapGet("/{name}", async (HttpContext c, string name) =>
            ApiResults.From(await new VmAdmin(AdminApi.SiteFor(c)).ShowAsync(name, c.RequestAborted))).Answers<VmView>(Ok, NotFound);
        vms.MapGet("/{name}/console", async (HttpContext c, string name) =>
        {
            var folder = await new VmAdmin(AdminApi.SiteFor(c)).FolderAsync(name, c.RequestAborted);
            return folder.Ok ? Results.Text(VmRuntime.ReadConsole(folder.Value), "text/plain; charset=utf-8") : ApiResults.Problem(folder.Error);
        }).Produces<string>(Ok, "text/plain").ProducesProblem(NotFound);
        vms.MapPost("/", (HttpContext c, CancellationToken _) => ApiRequests.WithBody<VmCreate>(c, async body =>
        {
            var request = Request(body, out var usage);
            if (request is null)
            {
                return ApiResults.Invalid(usage!);
            }

            var admin = new VmAdmin(AdminApi.SiteFor(c));
            var plan = await admin.PlanAsync(request, c.RequestAborted);
            return plan.Ok ? ApiResults.From(await admin.CreateAsync(plan.Value, c.RequestAborted), Created) : ApiResults.Problem(plan.Error);
        })).Body<VmCreate>().Answers<VmView>(Created, Invalid, NotFound, Conflict);
        vms.MapPost("/{name}/start", (HttpContext c, string name) => ApiRequests.WithBody<VmStart>(c, async body =>
        {
            var options = AdminApi.Options(c);
            var server = new NetbootServer(body.ServerPort, options.HttpPort, TimeSpan.FromSeconds(Math.Max(1, options.HeartbeatSeconds)));
            var started = await new VmAdmin(AdminApi.SiteFor(c)).StartAsync(name, body.Accel, server, c.RequestAborted);
            return started.Ok
                ? Results.Ok(new VmStarted(started.Value.View, started.Value.Start.Pid, started.Value.Start.Accelerator.ToString().ToLowerInvariant(), started.Value.Start.Note, started.Value.Netboot?.Url))
                : ApiResults.Problem(started.Error);
        }, optional: true)).Body<VmStart>(optional: true).Answers<VmStarted>(Ok, Invalid, NotFound, Conflict);
        vms.MapPost("/{name}/stop", async (HttpContext c, string name, int? timeout, bool? hard) =>
        {
            var seconds = timeout ?? 60;
            if (seconds is < 0 or > 3600)
            {
                return ApiResults.Invalid($"timeout {seconds.ToString(CultureInfo.InvariantCulture)} is out of range; give 0 to 3600 seconds");
            }

            var stopped = await new VmAdmin(AdminApi.SiteFor(c)).StopAsync(name, TimeSpan.FromSeconds(seconds), hard == true, c.RequestAborted);
            return stopped.Ok
                ? Results.Ok(new VmStopped(stopped.Value.View.Name, Data.KebabCase.Of(stopped.Value.Stop.Outcome.ToString()), Math.Round(stopped.Value.Stop.Took.TotalSeconds, 1)))
                : ApiResults.Problem(stopped.Error);
        }).Answers<VmStopped>(Ok, Invalid, NotFound);
        vms.MapDelete("/{name}", async (HttpContext c, string name, bool? keepFiles) =>
            ApiResults.From(await new VmAdmin(AdminApi.SiteFor(c)).DeleteAsync(name, keepFiles == true, c.RequestAborted))).Answers<VmView>(Ok, NotFound, Conflict);
        vms.MapPost("/{name}/capture", (HttpContext c, string name) => ApiRequests.WithBody<VmCapture>(c, body =>
        {
            var site = AdminApi.SiteFor(c);
            var vdisk = body.VDisk ?? "";
            return ApiOperations.AcceptAsync(c, "vm.capture", vdisk, async (progress, ct) =>
                ApiVDiskRoutes.Boxed(await new VmAdmin(site).CaptureAsync(name, vdisk, body.NewVersion, body.Format, body.Access, body.WriteCacheMode, body.Description, body.Stage, progress, ct)));
        })).Body<VmCapture>().Answers<ApiOperationView>(Accepted, Invalid, NotFound, Conflict, TooMany);
    }

    /// <summary>The request the body makes, its sizes parsed as the command line parses them; null with the message when one is malformed.</summary>
    private static VmRequest? Request(VmCreate body, out string? error)
    {
        error = null;
        int? memory = null;
        if (body.Memory is { } memoryText && (memory = VmRequest.ParseMemory(memoryText, out error)) is null)
        {
            return null;
        }

        long? disk = null;
        if (body.DiskSize is { } diskText)
        {
            if (!ByteSize.TryParse(diskText, out var bytes, out var sizeError))
            {
                error = $"diskSize: {sizeError}";
                return null;
            }

            disk = bytes;
        }

        return new VmRequest
        {
            Name = body.Name ?? "",
            Folder = body.Folder,
            MachineType = body.MachineType,
            GuestOs = body.GuestOs,
            GuestOsVersion = body.GuestOsVersion,
            InstallerIso = body.InstallerIso,
            FullName = body.FullName,
            UserName = body.UserName,
            Password = body.Password,
            HostName = body.HostName,
            Sockets = body.Sockets,
            CoresPerSocket = body.CoresPerSocket,
            MemoryMiB = memory,
            DiskSizeBytes = disk,
            DiskFile = body.DiskFile,
            DiskFormat = body.DiskFormat,
            Preallocate = body.Preallocate,
            Firmware = body.Firmware,
            Network = body.Network,
            Bridge = body.Bridge,
            Collection = body.Collection,
            Mac = body.Mac,
        };
    }
}
