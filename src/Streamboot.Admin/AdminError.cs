namespace Streamboot.Admin;

/// <summary>One line that says what is wrong and, where it can, how to fix it.</summary>
public sealed record AdminError(AdminErrorKind Kind, string Message)
{
    public static AdminError Invalid(string message) => new(AdminErrorKind.Invalid, message);

    public static AdminError NotFound(string message) => new(AdminErrorKind.NotFound, message);

    public static AdminError Conflict(string message) => new(AdminErrorKind.Conflict, message);

    public static AdminError Refused(string message) => new(AdminErrorKind.Refused, message);

    public static AdminError Failed(string message) => new(AdminErrorKind.Failed, message);

    public static AdminError Busy(string message) => new(AdminErrorKind.Busy, message);
}
