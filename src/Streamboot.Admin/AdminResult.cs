using System.Diagnostics.CodeAnalysis;

namespace Streamboot.Admin;

/// <summary>The outcome of an admin operation: a value, or the reason it was not done.</summary>
public readonly struct AdminResult<T>
{
    private AdminResult(T? value, AdminError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public AdminError? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Ok => Error is null;

    public static implicit operator AdminResult<T>(T value) => new(value, null);

    public static implicit operator AdminResult<T>(AdminError error) => new(default, error);
}
