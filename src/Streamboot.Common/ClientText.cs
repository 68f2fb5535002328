using System.Buffers;
using System.Globalization;
using System.Text;

namespace Streamboot;

/// <summary>
/// Text a network client chose (a TFTP file name or option, a DHCP host name,
/// vendor class or client identifier) made fit for one log line: control and
/// format characters are written as <c>\xNN</c> or <c>\uNNNN</c>, so a
/// newline cannot forge a second line, an escape sequence cannot drive the
/// admin's terminal and a bidi override cannot reorder what they read; and
/// the text is cut to a length, so a 64 KB option cannot fill the log.
/// Protocol code calls it on every client string it logs.
/// </summary>
public static class ClientText
{
    /// <summary>Longer text is cut here; enough for any real boot file path or host name.</summary>
    public const int DefaultMaxLength = 128;

    // Printable ASCII: the common case is checked with one vectorised scan.
    private static readonly SearchValues<char> s_printableAscii =
        SearchValues.Create(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>The text, escaped and cut; the same instance when there is nothing to change (no allocation).</summary>
    public static string ForLog(string? text, int maxLength = DefaultMaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (text is null)
        {
            return "";
        }

        if (text.Length <= maxLength && (!text.AsSpan().ContainsAnyExcept(s_printableAscii) || IsPlain(text)))
        {
            return text;
        }

        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 16);
        var taken = 0;
        for (; taken < text.Length && builder.Length < maxLength; taken++)
        {
            var c = text[taken];
            if (NeedsEscape(text, taken))
            {
                builder.Append(c <= 0xff
                    ? string.Create(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}")
                    : string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"));
            }
            else if (char.IsHighSurrogate(c))
            {
                // A pair (NeedsEscape said so) stays whole, even at the cut.
                builder.Append(c).Append(text[++taken]);
            }
            else
            {
                builder.Append(c);
            }
        }

        if (taken < text.Length)
        {
            builder.Append(CultureInfo.InvariantCulture, $"...(+{text.Length - taken} chars)");
        }

        return builder.ToString();
    }

    /// <summary>Bytes a client sent as text (DHCP options are not UTF-8 by any rule): each byte as its Latin-1 character, then as <see cref="ForLog(string?, int)"/>.</summary>
    public static string ForLog(ReadOnlySpan<byte> bytes, int maxLength = DefaultMaxLength)
    {
        // Decode no more than could be shown: the rest only counts.
        var shown = bytes[..Math.Min(bytes.Length, maxLength)];
        var text = ForLog(Encoding.Latin1.GetString(shown), maxLength);
        return bytes.Length > shown.Length
            ? text + string.Create(CultureInfo.InvariantCulture, $"...(+{bytes.Length - shown.Length} bytes)")
            : text;
    }

    private static bool IsPlain(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (NeedsEscape(text, i))
            {
                return false;
            }
        }

        return true;
    }

    private static bool NeedsEscape(string text, int i)
    {
        var c = text[i];
        if (c is >= ' ' and <= '~')
        {
            return false;
        }

        // A surrogate is fine only as half of a pair.
        if (char.IsHighSurrogate(c))
        {
            return i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]);
        }

        if (char.IsLowSurrogate(c))
        {
            return i == 0 || !char.IsHighSurrogate(text[i - 1]);
        }

        // Cc: C0, DEL, C1 (ESC, CSI); Cf: bidi overrides, zero widths;
        // Zl/Zp: line and paragraph separators that some viewers break on.
        return char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned;
    }
}
