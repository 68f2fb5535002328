using Microsoft.AspNetCore.Http;
using Streamboot.Admin;

namespace Streamboot.Server.Api;

/// <summary>
/// The admin API's answers: a value as JSON, or a problem-details error
/// (RFC 9457) whose detail is the same one-line message the command line
/// prints for the same mistake.
/// </summary>
internal static class ApiResults
{
    public static IResult From<T>(AdminResult<T> result, int okStatus = StatusCodes.Status200OK) =>
        result.Ok ? (okStatus == StatusCodes.Status201Created ? Results.Json(result.Value, statusCode: okStatus) : Results.Ok(result.Value)) : Problem(result.Error);

    public static IResult Problem(AdminError error) => Results.Problem(detail: error.Message, statusCode: StatusOf(error.Kind), title: TitleOf(error.Kind));


    public static IResult Invalid(string message) => Problem(AdminError.Invalid(message));

    public static int StatusOf(AdminErrorKind kind) => kind switch
    {
        AdminErrorKind.Invalid => StatusCodes.Status400BadRequest,
        AdminErrorKind.NotFound => StatusCodes.Status404NotFound,
        AdminErrorKind.Conflict => StatusCodes.Status409Conflict,
        AdminErrorKind.Refused => StatusCodes.Status409Conflict,
        AdminErrorKind.Busy => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static string TitleOf(AdminErrorKind kind) => kind switch
    {
        AdminErrorKind.Invalid => "invalid request",
        AdminErrorKind.NotFound => "not found",
        AdminErrorKind.Conflict => "conflict",
        AdminErrorKind.Refused => "refused by the site's state",
        AdminErrorKind.Busy => "too many operations",
        _ => "failed",
    };

    /// <summary>Writes a problem-details body where no endpoint runs (authentication, limits).</summary>
    public static Task WriteProblemAsync(HttpContext context, int status, string detail) =>
        Results.Problem(detail: detail, statusCode: status).ExecuteAsync(context);
}
