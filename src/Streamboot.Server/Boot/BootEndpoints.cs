using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Streamboot.Data;
using Streamboot.Sessions;
using Streamboot.Sessions.Decisions;
using Streamboot.Server.Configuration;
using Streamboot.Server.Http;

namespace Streamboot.Server.Boot;

/// <summary>
/// Step 2 of the boot over HTTP, translated to and from the session layer:
/// <c>GET /boot.ipxe?mac=...</c> answers an iPXE script of the boot decision;
/// <c>GET /boot/identity?mac=...&amp;key=...</c> tells a running client's OS
/// who it is; <c>GET /boot/files/VDISK/FILE</c> serves the kernel and initrd
/// a vDisk keeps beside its images. Nothing is decided here.
/// </summary>
public static class BootEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/boot.ipxe", ScriptAsync);
        app.MapGet("/boot/identity", IdentityAsync);
        app.MapMethods("/boot/files/{vdisk}/{file}", ["GET", "HEAD"], FileAsync);
        app.MapGet($"/boot/key/{{key}}/{KeyArchive.FileName}", Key);
    }

    /// <summary>
    /// The boot's key as an initramfs piece (iPXE fetches it with the initrd),
    /// with the site CA the client checks the server against when NBD runs
    /// over TLS. A key of the right form is all it takes: it only says back
    /// what it was told, and the CA is public.
    /// </summary>
    private static IResult Key(string key, [FromServices] IOptions<StreambootOptions> options)
    {
        if (!Sessions.Credentials.BootKey.IsWellFormed(key))
        {
            return Results.NotFound();
        }

        return Results.Bytes(KeyArchive.ForServer(key, options.Value), "application/octet-stream");
    }

    private static async Task<IResult> ScriptAsync(HttpContext http, [FromServices] IBootSessions sessions, [FromServices] IOptions<StreambootOptions> options, CancellationToken cancellationToken)
    {
        var query = http.Request.Query;
        if (!query.ContainsKey("mac"))
        {
            // The bare URL DHCP hands to iPXE: iPXE fills in who it is and asks again.
            return Results.Text(IpxeScript.Identify(Context(http, options.Value)), "text/plain; charset=utf-8");
        }

        var request = new BootRequest(
            Mac: query["mac"].FirstOrDefault(),
            RemoteAddress: ClientAddress.Of(http),
            Uuid: query["uuid"].FirstOrDefault(),
            BuildArch: query["buildarch"].FirstOrDefault(),
            Platform: query["platform"].FirstOrDefault(),
            VDisk: query["vdisk"].FirstOrDefault(),
            Register: query["register"].FirstOrDefault());
        var decision = await sessions.DecideAsync(request, cancellationToken);
        if (options.Value.HttpSendfile && !http.Request.IsHttps)
        {
            // iPXE keeps its connection for the kernel, and a connection Kestrel has
            // answered stays Kestrel's: closing it sends the boot files over a new one,
            // which Http/BootFileSender sees first and answers with sendfile.
            http.Response.Headers.Connection = "close";
        }

        return Results.Text(IpxeScript.Render(decision, Context(http, options.Value)), "text/plain; charset=utf-8");
    }

    private static async Task<IResult> IdentityAsync(HttpContext http, [FromServices] IBootSessions sessions, [FromServices] IOptions<StreambootOptions> options, CancellationToken cancellationToken)
    {
        var mac = http.Request.Query["mac"].FirstOrDefault();
        if (string.IsNullOrEmpty(mac))
        {
            return Results.Problem(statusCode: 400, title: "give the device's MAC address and its boot's key: /boot/identity?mac=52:54:00:12:34:56&key=KEY");
        }

        var found = await sessions.IdentityAsync(new IdentityRequest(mac, http.Request.Query["key"].FirstOrDefault(), ClientAddress.Of(http)), cancellationToken);
        if (!found.Ok)
        {
            return Results.Problem(statusCode: StatusOf(found.Error), title: found.Error.Message);
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
            export = identity.Export,
            key = identity.Key,
            live = identity.Live,
            writeCache = identity.WriteCacheMode is { } mode ? KebabCase.Of(mode) : null,
            server = context.BaseUrl,
            nbd = $"{context.NbdHost}:{context.NbdPort}",
            servers = string.Join(',', identity.Alternates.Select(a => a.NbdEndpoint)),
        });
    }

    private static async Task<IResult> FileAsync(string vdisk, string file, HttpContext http, [FromServices] IBootSessions sessions, CancellationToken cancellationToken)
    {
        if (file is not (IpxeScript.KernelFile or IpxeScript.InitrdFile))
        {
            return Results.NotFound();
        }

        var folder = await sessions.BootFilesAsync(new BootFilesRequest(vdisk, http.Request.Query["key"].FirstOrDefault()), cancellationToken);
        if (!folder.Ok)
        {
            return Results.Problem(statusCode: StatusOf(folder.Error), title: folder.Error.Message);
        }

        var path = Path.Combine(folder.Value, "boot", file);
        return File.Exists(path)
            ? BootFileResult.For(http.Request, path)
            : Results.NotFound();
    }

    /// <summary>A missing or wrong key is 403, not 401: there is no HTTP authentication scheme to offer.</summary>
    private static int StatusOf(SessionError error) => error.Reason switch
    {
        SessionRefusal.BadName => StatusCodes.Status400BadRequest,
        _ => error.Kind switch
        {
            SessionErrorKind.NotFound => StatusCodes.Status404NotFound,
            SessionErrorKind.Refused => StatusCodes.Status403Forbidden,
            _ => StatusCodes.Status503ServiceUnavailable,
        },
    };

    /// <summary>
    /// URLs in the script point where the client reached this server (its
    /// Host header), so a server on several networks needs no configured
    /// address.
    /// </summary>
    private static BootScriptContext Context(HttpContext http, StreambootOptions options)
    {
        var host = http.Request.Host.HasValue
            ? http.Request.Host.Host
            : http.Connection.LocalIpAddress is { } local ? ClientAddress.Normal(local).ToString() : "127.0.0.1";
        var port = http.Request.Host.Port ?? http.Connection.LocalPort;
        return BootScriptContext.For(host, port, options, http.Connection.LocalIpAddress, http.Connection.RemoteIpAddress);
    }
}
