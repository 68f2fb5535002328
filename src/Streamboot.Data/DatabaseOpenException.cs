namespace Streamboot.Data;

/// <summary>The site database cannot be used; the message says why and names it.</summary>
public sealed class DatabaseOpenException : Exception
{
    public DatabaseOpenException(string message)
        : base(message)
    {
    }

    public DatabaseOpenException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
