using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Streamboot.Server.Api;

/// <summary>What every route of the admin API shares: its body reading, its scope, its OpenAPI description.</summary>
internal static class ApiRequests
{
    /// <summary>A request body larger than this is refused before it is read: no admin change needs more.</summary>
    public const int MaxBodyBytes = 64 << 10;

    public static RouteHandlerBuilder Admin(this RouteHandlerBuilder route) => route.RequireAuthorization(ApiAuthentication.AdminPolicy).ProducesProblem(StatusCodes.Status403Forbidden);

    /// <summary>
    /// Reads the JSON body (at most <see cref="MaxBodyBytes"/>), answering a
    /// missing, oversized or malformed one with a problem that says so.
    /// </summary>
    public static async Task<IResult> WithBody<T>(HttpContext context, Func<T, Task<IResult>> handle, bool optional = false)
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

    public static JsonSerializerOptions JsonOptionsOf(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

    /// <summary>The route's JSON body, for the OpenAPI document (the body is read by <see cref="WithBody"/>, which the document cannot see).</summary>
    public static RouteHandlerBuilder Body<T>(this RouteHandlerBuilder route, bool optional = false)
        where T : notnull =>
        route.Accepts<T>(optional, "application/json");

    /// <summary>What the route answers, for the OpenAPI document: its value and the problems it can give.</summary>
    public static RouteHandlerBuilder Answers<T>(this RouteHandlerBuilder route, int status = StatusCodes.Status200OK, params int[] problems)
    {
        route.Produces<T>(status);
        foreach (var problem in problems)
        {
            route.ProducesProblem(problem);
        }

        return route;
    }
}
