using System.Globalization;
using System.Text;

namespace Streamboot.Protocols.Nbd;

/// <summary>
/// Text a client sent (export names, option strings), made fit for a log
/// line: a name may carry anything up to 4 KiB of UTF-8, and written raw it
/// could forge log lines (a newline), drive a terminal (escape sequences) or
/// reorder what a reader sees (bidirectional overrides). Every such string
/// goes through <see cref="Sanitize"/> before it is logged.
/// </summary>
public static class NbdLogText
{
    /// <summary>Characters kept; a longer text is cut and says how much was left out.</summary>
    public const int MaxLength = 128;

    /// <summary>
    /// Control characters (C0, DEL, C1) and invisible format characters
    /// (bidirectional overrides, zero-width joiners) become '?'; text past
    /// <see cref="MaxLength"/> characters is cut.
    /// </summary>
    public static string Sanitize(string? text)
    {
        if (text is null)
        {
            return "";
        }

        var cut = text.Length > MaxLength ? MaxLength : text.Length;
        if (cut < text.Length && char.IsHighSurrogate(text[cut - 1]))
        {
            cut--; // never split a surrogate pair
        }

        if (cut == text.Length && !NeedsReplacing(text))
        {
            return text;
        }

        var builder = new StringBuilder(cut + 24);
        for (var i = 0; i < cut; i++)
        {
            var c = text[i];
            builder.Append(IsUnsafe(c) ? '?' : c);
        }

        if (cut < text.Length)
        {
            builder.Append(CultureInfo.InvariantCulture, $"...({text.Length - cut} more)");
        }

        return builder.ToString();
    }

    private static bool NeedsReplacing(string text)
    {
        foreach (var c in text)
        {
            if (IsUnsafe(c))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsUnsafe(char c) =>
        char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
