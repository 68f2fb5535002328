using Streamboot.Admin;

namespace Streamboot.Api.Contracts;

/// <summary>
/// An Admin-layer error as an RFC 9457 problem and back, in one place: the
/// server answers a kind with its status and title, the remote client turns
/// them into the same kind (and so the same exit code) the command line
/// gives locally. 409 carries two kinds, told apart by the title; 429 is Busy only when
/// its title says so (the sign-in throttle's 429 stays a failure).
/// </summary>
public static class ApiProblems
{
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int Forbidden = 403;
    public const int NotFound = 404;
    public const int Conflict = 409;
    public const int PayloadTooLarge = 413;
    public const int TooManyRequests = 429;
    public const int InternalServerError = 500;

    public static int StatusOf(AdminErrorKind kind) => kind switch
    {
        AdminErrorKind.Invalid => BadRequest,
        AdminErrorKind.NotFound => NotFound,
        AdminErrorKind.Conflict => Conflict,
        AdminErrorKind.Refused => Conflict,
        AdminErrorKind.Busy => TooManyRequests,
        _ => InternalServerError,
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

    /// <summary>The kind a problem's status (and, for 409, title) stands for.</summary>
    public static AdminErrorKind KindOf(int status, string? title) => status switch
    {
        BadRequest or PayloadTooLarge => AdminErrorKind.Invalid,
        NotFound => AdminErrorKind.NotFound,
        Conflict when title == TitleOf(AdminErrorKind.Refused) => AdminErrorKind.Refused,
        Conflict => AdminErrorKind.Conflict,
        TooManyRequests when title == TitleOf(AdminErrorKind.Busy) => AdminErrorKind.Busy,
        _ => AdminErrorKind.Failed,
    };
}
