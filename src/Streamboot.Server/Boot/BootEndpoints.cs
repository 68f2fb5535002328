using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Admin;
using Streamboot.Admin.Boot;
using Streamboot.Data;
using Streamboot.Server.Configuration;
using Streamboot.Server.Http;
using Streamboot.Server.Streaming;

namespace Streamboot.Server.Boot;

/// <summary>
/// Step 2 of the boot over HTTP: <c>GET /boot.ipxe?mac=...</c> answers an
/// iPXE script built from the database; <c>GET /boot/identity?mac=...</c>
/// tells a running client's OS who it is; <c>GET /boot/files/VDISK/FILE</c>
/// serves the kernel and initrd a vDisk keeps beside its images.
/// </summary>
public static partial class BootEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/boot.ipxe", ScriptAsync);
        app.MapGet("/boot/identity", IdentityAsync);
        app.MapMethods("/boot/files/{vdisk}/{file}", ["GET", "HEAD"], FileAsync);
    }

    private static async Task<IResult> ScriptAsync(HttpContext http, [FromServices] AdminSite site, [FromServices] SessionRegistry registry, [FromServices] WriteCacheStore caches, [FromServices] IOptions<StreambootOptions> options, [FromServices] ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("Streamboot.Boot");
        var query = http.Request.Query;
        if (!query.ContainsKey("mac"))
        {
            // The bare URL DHCP hands to iPXE: iPXE fills in who it is and asks again.
            return Results.Text(IpxeScript.Identify(Context(http, options.Value)), "text/plain; charset=utf-8");
        }

        var remote = ClientAddress.Of(http);
        var request = new BootRequest(
            Mac: query["mac"].FirstOrDefault(),
            RemoteAddress: remote,
            Uuid: query["uuid"].FirstOrDefault(),
            BuildArch: query["buildarch"].FirstOrDefault(),
            Platform: query["platform"].FirstOrDefault(),
            VDisk: query["vdisk"].FirstOrDefault(),
            Register: query["register"].FirstOrDefault());
        var decision = await new BootPlanner(site).DecideAsync(request, cancellationToken);
        var mac = MacAddress.TryParse(request.Mac, out var parsed) ? parsed.ToString() : "(none)";
        switch (decision)
        {
            case BootVDisk boot:
                await registry.NewBootAsync(boot.Device.Name, persistent: boot.PersistentWriteCache);
                caches.BootBegins(boot.Device.Name, boot.Target.VDisk, boot.Target.Version);
                LogBoot(logger, mac, remote ?? "", boot.Device.Name, boot.Target.VDisk, boot.Target.Version, request.Platform ?? "", request.BuildArch ?? "");
                if (boot.Registered)
                {
                    LogRegistered(logger, mac, boot.Device.Name, boot.Device.Collection);
                }

                break;
            case BootMenu menu:
                LogMenu(logger, mac, remote ?? "", menu.Device.Name, menu.Items.Count);
                break;
            case RegistrationMenu registration:
                LogRegistrationMenu(logger, mac, remote ?? "", registration.Collection);
                break;
            case BootRefused refused when refused.Reason == BootRefusal.IdentityInUse:
                LogIdentityInUse(logger, mac, remote ?? "", refused.Message);
                break;
            case BootRefused refused:
                LogRefused(logger, mac, remote ?? "", refused.Reason, refused.Message);
                break;
        }

        var script = IpxeScript.Render(decision, Context(http, options.Value));
        return Results.Text(script, "text/plain; charset=utf-8");
    }

    private static async Task<IResult> IdentityAsync(HttpContext http, [FromServices] AdminSite site, [FromServices] IOptions<StreambootOptions> options, CancellationToken cancellationToken)
    {
        var mac = http.Request.Query["mac"].FirstOrDefault();
        if (string.IsNullOrEmpty(mac))
        {
            return Results.Problem(statusCode: 400, title: "give the device's MAC address: /boot/identity?mac=52:54:00:12:34:56");
        }

        var found = await new BootPlanner(site).IdentityAsync(mac, cancellationToken);
        if (!found.Ok)
        {
            return Results.Problem(statusCode: found.Error.Kind == AdminErrorKind.Invalid ? 400 : 404, title: found.Error.Message);
        }

        var context = Context(http, options.Value);
        var identity = found.Value;
        return Results.Json(new
        {
            name = identity.Device.Name,
            mac = identity.Device.Mac,
            machineId = identity.Device.MachineIdHex,
            collection = identity.Device.Collection,
            enabled = identity.Enabled,
            vdisks = identity.VDisks,
            vdisk = identity.VDisk,
            export = identity.LiveExport ?? (identity.VDisk is null ? null : $"{identity.VDisk}/{identity.Device.Name}"),
            live = identity.LiveExport is not null,
            writeCache = identity.WriteCacheMode is { } mode ? KebabCase.Of(mode) : null,
            server = context.BaseUrl,
            nbd = $"{context.NbdHost}:{context.NbdPort}",
        });
    }

    private static async Task<IResult> FileAsync(string vdisk, string file, [FromServices] AdminSite site, CancellationToken cancellationToken)
    {
        if (file is not (IpxeScript.KernelFile or IpxeScript.InitrdFile))
        {
            return Results.NotFound();
        }

        var folder = await new VDiskAdmin(site).StoreFolderAsync(vdisk, cancellationToken);
        if (folder is null)
        {
            return Results.NotFound();
        }

        var path = Path.Combine(folder, "boot", file);
        return File.Exists(path)
            ? Results.File(path, "application/octet-stream", enableRangeProcessing: true)
            : Results.NotFound();
    }

    /// <summary>
    /// URLs in the script point where the client reached this server (its
    /// Host header), so a server on several networks needs no configured
    /// address.
    /// </summary>
    private static IpxeScript.Context Context(HttpContext http, StreambootOptions options)
    {
        var host = http.Request.Host.HasValue
            ? http.Request.Host.Host
            : http.Connection.LocalIpAddress is { } local ? ClientAddress.Normal(local).ToString() : "127.0.0.1";
        var port = http.Request.Host.Port ?? http.Connection.LocalPort;
        var hostForUrl = IPAddress.TryParse(host, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !host.StartsWith('[') ? $"[{host}]" : host;
        var nbdHost = host.Trim('[', ']');
        return new IpxeScript.Context($"http://{hostForUrl}:{port}", nbdHost, options.NbdPort, options.BootMenuSeconds, options.BootRetrySeconds);
    }

    [LoggerMessage(1200, LogLevel.Information, "Boot: {Mac} from {Remote} boots vDisk {VDisk} version {Version} as {Name} (platform {Platform}, arch {Arch})")]
    private static partial void LogBoot(ILogger logger, string mac, string remote, string name, string vdisk, int version, string platform, string arch);

    [LoggerMessage(1201, LogLevel.Information, "Boot: registered unknown machine {Mac} as {Name} in collection {Collection}")]
    private static partial void LogRegistered(ILogger logger, string mac, string name, string collection);

    [LoggerMessage(1202, LogLevel.Information, "Boot: {Mac} from {Remote} ({Name}) gets a menu of {Count} vDisks")]
    private static partial void LogMenu(ILogger logger, string mac, string remote, string name, int count);

    [LoggerMessage(1203, LogLevel.Information, "Boot: unknown machine {Mac} from {Remote} gets the registration menu of collection {Collection}")]
    private static partial void LogRegistrationMenu(ILogger logger, string mac, string remote, string collection);

    [LoggerMessage(1204, LogLevel.Warning, "Boot: refused {Mac} from {Remote} ({Reason}): {Message}")]
    private static partial void LogRefused(ILogger logger, string mac, string remote, BootRefusal reason, string message);

    [LoggerMessage(1205, LogLevel.Warning, "Boot: refused {Mac} from {Remote}: its identity is live elsewhere: {Message}")]
    private static partial void LogIdentityInUse(ILogger logger, string mac, string remote, string message);
}
