namespace Streamboot.Remote;

/// <summary>An answer of the API as it came: its status, media type, body (read within the size limit) and <c>Location</c>.</summary>
internal sealed record ApiAnswer(int Status, string? MediaType, byte[] Body, Uri? Location, TimeSpan? RetryAfter)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    public bool IsJson => MediaType is { } type && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
}
