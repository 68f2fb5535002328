using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Streamboot.Admin;
using Streamboot.Data.Model;
using Streamboot.Server.Http;

namespace Streamboot.Server.Farm;

/// <summary>
/// What servers of a farm ask each other over HTTP:
/// <c>GET /farm/versions/ID</c> hands this server's copy of a version (ID:
/// its database id) to another server that is replicating it. Only with
/// the farm's signature (<see cref="FarmSignature"/>; 401 otherwise), only
/// a copy this server has verified and that has not changed since (404
/// otherwise: the asker tries another server), byte ranges allowed (a copy
/// resumes), a few at once (503 beyond). The receiver checks the bytes
/// against the version's hash anyway: this route is how bytes travel, not
/// why they are trusted.
/// </summary>
internal static class FarmEndpoints
{
    public const string VersionsPath = "/farm/versions/";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(VersionsPath + "{id}", (HttpContext http, string id, [FromServices] FarmUploads uploads) => ServeVersionAsync(http, id, uploads));

    /// <summary>Parses an id as this route takes it: 1 to 18 ASCII digits, nothing else (no sign, no spaces, no leading zero).</summary>
    public static bool TryParseId(string text, out long id)
    {
        id = 0;
        if (text.Length is < 1 or > 18 || text[0] == '0' || !text.All(char.IsAsciiDigit))
        {
            return false;
        }

        id = long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    private static async Task<IResult> ServeVersionAsync(HttpContext http, string idText, FarmUploads uploads)
    {
        var path = http.Request.Path.Value ?? "";
        var secret = await uploads.Secret.GetAsync(http.RequestAborted);
        if (!FarmSignature.Verify(secret, "GET", path, http.Request.Headers.Authorization.ToString(), uploads.Clock.GetUtcNow()))
        {
            http.Response.Headers.WWWAuthenticate = FarmSignature.Scheme;
            uploads.Refused(ClientAddress.Of(http));
            return Results.Text("the farm's signature is missing or wrong\n", statusCode: StatusCodes.Status401Unauthorized);
        }

        if (!TryParseId(idText, out var id))
        {
            return Results.Text("a version is named by its id: digits\n", statusCode: StatusCodes.Status400BadRequest);
        }

        if (uploads.Identity.Id == 0)
        {
            return Results.Text("this server has not registered yet\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var file = await VerifiedCopyAsync(uploads.Site, uploads.Identity.Id, id, http.RequestAborted);
        if (file is null)
        {
            return Results.Text("this server holds no verified copy of that version\n", statusCode: StatusCodes.Status404NotFound);
        }

        if (!uploads.TryEnter())
        {
            http.Response.Headers.RetryAfter = "5";
            return Results.Text("this server is handing out as many copies as it may; try another or later\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        // Released when the response ends, whichever way.
        http.Response.RegisterForDispose(uploads.Leave());
        return Results.File(file, "application/octet-stream", enableRangeProcessing: true);
    }

    /// <summary>The version's file here, when this server's copy is verified and unchanged since it was hashed.</summary>
    private static async Task<string?> VerifiedCopyAsync(AdminSite site, long server, long versionId, CancellationToken cancellationToken)
    {
        await using var db = site.Database.CreateContext();
        var replica = await db.VersionReplicas.AsNoTracking().Include(r => r.Version).ThenInclude(v => v!.VDisk)
            .FirstOrDefaultAsync(r => r.VersionId == versionId && r.ServerId == server, cancellationToken);
        if (replica is not { State: ReplicaState.Verified, Version.VDisk: { } vdisk } || replica.HashSeen != replica.Version.ContentHash)
        {
            return null;
        }

        var path = ReplicaFiles.PathOf(site, vdisk, replica.Version);
        return path is not null && ReplicaFiles.StampOf(path) is { } stamp && stamp == replica.Stamp ? path : null;
    }
}
