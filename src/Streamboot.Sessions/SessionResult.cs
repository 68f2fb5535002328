using System.Diagnostics.CodeAnalysis;

namespace Streamboot.Sessions;

/// <summary>The outcome of a session-layer call: a value, or why not.</summary>
public readonly struct SessionResult<T>
{
    private SessionResult(T? value, SessionError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public SessionError? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Ok => Error is null;

    public static implicit operator SessionResult<T>(T value) => new(value, null);

    public static implicit operator SessionResult<T>(SessionError error) => new(default, error);
}
