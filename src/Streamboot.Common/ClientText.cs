using System.Text;

namespace Streamboot;

/// <summary>
/// Text a client sent (a name, a MAC, a file name), made safe for a log line
/// or a message: control characters become '?', and it is cut at
/// <c>max</c> characters. A client cannot forge log lines or fill the log.
/// </summary>
public static class ClientText
{
    public const int DefaultMaxLength = 80;

    public static string Printable(string? text, int max = DefaultMaxLength)
    {
        if (text is null)
        {
            return "";
        }

        var length = Math.Min(text.Length, max);
        var clean = new StringBuilder(length + 3);
        for (var i = 0; i < length; i++)
        {
            var c = text[i];
            clean.Append(char.IsControl(c) || char.IsSurrogate(c) || c == '\u2028' || c == '\u2029' ? '?' : c);
        }

        if (text.Length > max)
        {
            clean.Append("...");
        }

        return clean.ToString();
    }
}
