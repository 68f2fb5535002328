namespace Streamboot.Sessions;

/// <summary>
/// A refusal: its reason, and one line for whoever asked. The line names
/// no other machine's address or session: a refusal goes to whoever asks.
/// </summary>
public sealed record SessionError(SessionRefusal Reason, string Message)
{
    /// <summary>What a front end makes of it: the thing is not there, policy says no, or it failed on the way.</summary>
    public SessionErrorKind Kind => Reason switch
    {
        SessionRefusal.UnknownVDisk or SessionRefusal.UnknownDevice or SessionRefusal.NoVersion or SessionRefusal.BadName => SessionErrorKind.NotFound,
        SessionRefusal.StorageFailed or SessionRefusal.Conflict or SessionRefusal.HeldElsewhere or SessionRefusal.NotReplicated or SessionRefusal.MovedAway => SessionErrorKind.Unavailable,
        _ => SessionErrorKind.Refused,
    };
}

public enum SessionErrorKind
{
    NotFound,
    Refused,
    Unavailable,
}
