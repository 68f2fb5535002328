using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Streamboot.Sessions;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Http;

/// <summary>
/// A vDisk over HTTP range requests, for iPXE's <c>sanboot http://...</c>:
/// <c>/vdisk/VDISK/DEVICE/KEY</c> is the device's own view with its boot's
/// key (the same session NBD serves, write cache and all), <c>/vdisk/VDISK</c>
/// the read-only view of production. HEAD answers the size with no body; GET answers one byte
/// range (206) or the whole disk (200). Read-only: iPXE never writes to an
/// HTTP SAN device.
/// </summary>
/// <remarks>
/// A keep-alive connection is one client's reading of one disk: once a
/// name on it has shown one vDisk version (by its database id, never
/// reused), a request on the same connection that would show another
/// (the vDisk was deleted and imported again, a version rolled back) is
/// answered 410 Gone and the connection closed, so no client reads one
/// disk's blocks mixed with another's. A new connection reads what the
/// name means now. The read-only view's answers carry its version as their ETag.
/// </remarks>
public static class VDiskOverHttp
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapMethods("/vdisk/{vdisk}", ["GET", "HEAD"], (HttpContext http, string vdisk, [FromServices] HttpSessions sessions) => ServeAsync(http, vdisk, sessions));
        app.MapMethods("/vdisk/{vdisk}/{device}", ["GET", "HEAD"], (HttpContext http, string vdisk, string device, [FromServices] HttpSessions sessions) => ServeAsync(http, $"{vdisk}/{device}", sessions));
        app.MapMethods("/vdisk/{vdisk}/{device}/{key}", ["GET", "HEAD"], (HttpContext http, string vdisk, string device, string key, [FromServices] HttpSessions sessions) => ServeAsync(http, $"{vdisk}/{device}/{key}", sessions));
    }

    private static async Task ServeAsync(HttpContext http, string name, HttpSessions sessions)
    {
        var remote = ClientAddress.Of(http);
        var use = await sessions.UseAsync(name, remote, http.Connection.Id, http.RequestAborted);
        if (!use.Ok)
        {
            http.Response.StatusCode = use.Error.Kind switch
            {
                SessionErrorKind.NotFound => StatusCodes.Status404NotFound,
                SessionErrorKind.Refused => StatusCodes.Status403Forbidden,
                _ => StatusCodes.Status503ServiceUnavailable,
            };
            await http.Response.WriteAsync(use.Error.Message + "\n", http.RequestAborted);
            return;
        }

        using var held = use.Value;
        var response = http.Response;
        if (!SameVersionAsBefore(http, name, held.View.Facts.VersionId))
        {
            response.StatusCode = StatusCodes.Status410Gone;
            response.Headers.Connection = "close";
            await response.WriteAsync($"vDisk '{held.View.Facts.VDisk}' changed while this connection read it (its version was deleted or replaced); connect again to read it as it is now\n", http.RequestAborted);
            return;
        }

        var device = held.View.Device;
        var size = device.Size;
        if (held.View.Facts.Device is null)
        {
            // The read-only view shows one production version, which never changes: its id is a strong validator.
            // (A device's view changes with its writes: it gets none.)
            response.Headers.ETag = $"\"v{held.View.Facts.VersionId.ToString(CultureInfo.InvariantCulture)}\"";
        }

        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";
        long start = 0, length = size;
        if (RangeHeaderValue.TryParse(http.Request.Headers.Range.ToString(), out var range) && range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase) && range.Ranges.Count == 1)
        {
            var r = range.Ranges.First();
            if (r.From is { } from)
            {
                start = from;
                length = r.To is { } to ? Math.Min(to, size - 1) - from + 1 : size - from;
            }
            else if (r.To is { } suffix)
            {
                length = Math.Min(suffix, size);
                start = size - length;
            }

            if (start >= size || length <= 0)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = $"bytes */{size.ToString(CultureInfo.InvariantCulture)}";
                return;
            }

            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {start.ToString(CultureInfo.InvariantCulture)}-{(start + length - 1).ToString(CultureInfo.InvariantCulture)}/{size.ToString(CultureInfo.InvariantCulture)}";
        }

        response.ContentLength = length;
        if (HttpMethods.IsHead(http.Request.Method))
        {
            return;
        }

        try
        {
            await ResponsePipe.SendAsync(response.BodyWriter, length, async (offset, piece) =>
            {
                await device.ReadAsync(start + offset, piece, http.RequestAborted);
                return piece.Length;
            }, http.RequestAborted);
        }
        catch (BlockDeviceException e)
        {
            if (response.HasStarted)
            {
                // Headers are gone: all that is left is to cut the response short, which the client sees.
                http.Abort();
            }
            else
            {
                response.StatusCode = held.View.Ended ? StatusCodes.Status410Gone : StatusCodes.Status503ServiceUnavailable;
                response.ContentLength = null;
                response.Headers.ContentRange = default;
                response.Headers.Connection = "close";
                await response.WriteAsync(e.Message + "\n", http.RequestAborted);
            }
        }
    }

    /// <summary>Whether this connection has shown no other version under <paramref name="name"/> (and remembers this one).</summary>
    private static bool SameVersionAsBefore(HttpContext http, string name, long versionId)
    {
        if (http.Features.Get<IConnectionItemsFeature>()?.Items is not { } items)
        {
            return true;
        }

        var key = "streamboot.vdisk-version:" + name.ToLowerInvariant();
        if (items.TryGetValue(key, out var seen) && seen is long before && before != versionId)
        {
            return false;
        }

        items[key] = versionId;
        return true;
    }
}
