using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Streamboot;

/// <summary>
/// A collection's pattern for the names of new devices, as in Citrix PVS's
/// auto-add: one run of '#' stands for a zero-padded number, so
/// <c>LAB-###</c> gives LAB-001, LAB-002, ... LAB-999.
/// </summary>
public sealed class NamingPattern
{
    private readonly string _prefix;
    private readonly string _suffix;

    private NamingPattern(string text, string prefix, int digits, string suffix)
    {
        Text = text;
        _prefix = prefix;
        Digits = digits;
        _suffix = suffix;
    }

    public string Text { get; }

    public int Digits { get; }

    public long MaxNumber => (long)Math.Pow(10, Digits) - 1;

    public static bool TryParse(string? text, [NotNullWhen(true)] out NamingPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        error = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "a naming pattern cannot be empty; write one like LAB-###";
            return false;
        }

        var first = text.IndexOf('#', StringComparison.Ordinal);
        if (first < 0)
        {
            error = $"naming pattern '{text}' has no '#'; write one like LAB-### where ### becomes 001, 002, ...";
            return false;
        }

        var last = first;
        while (last + 1 < text.Length && text[last + 1] == '#')
        {
            last++;
        }

        if (text.IndexOf('#', last + 1) >= 0)
        {
            error = $"naming pattern '{text}' has more than one run of '#'; use one, like LAB-###";
            return false;
        }

        var digits = last - first + 1;
        if (digits > 9)
        {
            error = $"naming pattern '{text}' has {digits} '#'; at most 9";
            return false;
        }

        var candidate = new NamingPattern(text, text[..first], digits, text[(last + 1)..]);
        // The first and the last name it can make must both be valid host names.
        if (!Names.TryValidateHostName(candidate.Format(1), out var nameError) ||
            !Names.TryValidateHostName(candidate.Format(candidate.MaxNumber), out nameError))
        {
            error = $"naming pattern '{text}' makes invalid names: {nameError}";
            return false;
        }

        pattern = candidate;
        return true;
    }

    public string Format(long number)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(number);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(number, MaxNumber);
        return _prefix + number.ToString(CultureInfo.InvariantCulture).PadLeft(Digits, '0') + _suffix;
    }

    /// <summary>The number a name was made from, when it fits this pattern.</summary>
    public bool TryMatch(string name, out long number)
    {
        number = 0;
        if (name.Length != _prefix.Length + Digits + _suffix.Length ||
            !name.StartsWith(_prefix, StringComparison.OrdinalIgnoreCase) ||
            !name.EndsWith(_suffix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var digits = name.AsSpan(_prefix.Length, Digits);
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out number) && number > 0;
    }

    public override string ToString() => Text;
}
