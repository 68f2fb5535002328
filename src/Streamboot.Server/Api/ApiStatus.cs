using Microsoft.AspNetCore.Http;

namespace Streamboot.Server.Api;

/// <summary>The answers the routes declare in the OpenAPI document, by short name (<c>using static</c>).</summary>
internal static class ApiStatus
{
    public const int Ok = StatusCodes.Status200OK;
    public const int Created = StatusCodes.Status201Created;
    public const int Accepted = StatusCodes.Status202Accepted;
    public const int Invalid = StatusCodes.Status400BadRequest;
    public const int NotFound = StatusCodes.Status404NotFound;
    public const int Conflict = StatusCodes.Status409Conflict;
    public const int TooMany = StatusCodes.Status429TooManyRequests;
}
