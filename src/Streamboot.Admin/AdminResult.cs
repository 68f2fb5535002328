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

    /// <summary>A value; what the implicit conversion does, for a <typeparamref name="T"/> that is an interface (C# converts no interface implicitly).</summary>
    public static AdminResult<T> Success(T value) => new(value, null);

    public static implicit operator AdminResult<T>(AdminError error) => new(default, error);
}

/// <summary>The non-generic side of <see cref="AdminResult{T}"/>, as <c>Nullable</c> is of <c>Nullable&lt;T&gt;</c>.</summary>
public static class AdminResult
{
    /// <summary>A value as a result, its type inferred (lists, which are interfaces).</summary>
    public static AdminResult<T> Of<T>(T value) => AdminResult<T>.Success(value);
}
