using System.Globalization;
using System.Text;

namespace Streamboot.Protocols.Iscsi.Login;

/// <summary>
/// The key=value pairs of a Login or Text data segment (RFC 7143 6.1):
/// UTF-8 text, each pair ended by a NUL. Parsing is strict and bounded:
/// a pair without '=', an empty or over-long key, a key given twice, or
/// more pairs than anyone needs is a malformed request, not a guess.
/// </summary>
internal sealed class TextParameters
{
    /// <summary>Keys are at most 63 characters (6.1).</summary>
    public const int MaxKeyLength = 63;

    /// <summary>Values are at most 255 characters, except CHAP's binary ones (6.1, 12.1.3).</summary>
    public const int MaxValueLength = 8192;

    public const int MaxPairs = 256;

    private readonly List<KeyValuePair<string, string>> _pairs = [];

    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    public int Count => _pairs.Count;

    public static bool TryParse(ReadOnlySpan<byte> data, out TextParameters parameters, out string? error)
    {
        parameters = new TextParameters();
        error = null;
        // A trailing NUL ends the last pair; padding NULs after it are allowed.
        while (data.Length > 0)
        {
            var end = data.IndexOf((byte)0);
            var pair = end < 0 ? data : data[..end];
            data = end < 0 ? default : data[(end + 1)..];
            if (pair.Length == 0)
            {
                continue;
            }

            var equals = pair.IndexOf((byte)'=');
            if (equals <= 0 || equals > MaxKeyLength || pair.Length - equals - 1 > MaxValueLength)
            {
                error = "a text parameter is not key=value within the length limits";
                return false;
            }

            string key, value;
            try
            {
                key = Encoding.UTF8.GetString(pair[..equals]);
                value = s_strict.GetString(pair[(equals + 1)..]);
            }
            catch (DecoderFallbackException)
            {
                error = "a text parameter is not UTF-8";
                return false;
            }

            if (parameters.Contains(key))
            {
                error = $"key {Safe(key)} is given twice";
                return false;
            }

            if (parameters._pairs.Count == MaxPairs)
            {
                error = "too many text parameters";
                return false;
            }

            parameters._pairs.Add(new(key, value));
        }

        return true;
    }

    private static readonly UTF8Encoding s_strict = new(false, throwOnInvalidBytes: true);

    public bool Contains(string key) => _pairs.Exists(p => p.Key == key);

    public string? this[string key] => _pairs.Find(p => p.Key == key) is { Key: not null } found ? found.Value : null;

    public void Add(string key, string value) => _pairs.Add(new(key, value));

    public void Add(string key, long value) => _pairs.Add(new(key, value.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The pairs as a data segment: key=value NUL each.</summary>
    public byte[] ToBytes()
    {
        var text = new StringBuilder();
        foreach (var (key, value) in _pairs)
        {
            text.Append(key).Append('=').Append(value).Append('\0');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>A numerical value (6.1: decimal, or hex with 0x); false for anything else.</summary>
    public static bool TryParseNumber(string value, out long number)
    {
        number = 0;
        if (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return value.Length is > 2 and <= 18 && long.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out number) && number >= 0;
        }

        return value.Length is > 0 and <= 19 && value.All(char.IsAsciiDigit) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }

    /// <summary>Client text for a log line or a refusal: control characters out, cut short.</summary>
    public static string Safe(string? text) => ClientText.ForLog(text, 64);
}
