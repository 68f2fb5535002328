using System.Text;

namespace Streamboot.Data;

/// <summary>PascalCase to kebab-case, the spelling the database and the command line share.</summary>
public static class KebabCase
{
    public static string Of(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsAsciiLetterUpper(c))
            {
                if (i > 0)
                {
                    sb.Append('-');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    public static string Of<T>(T value)
        where T : struct, Enum => Of(value.ToString());

    /// <summary>Parses the kebab-case spelling of an enum value (also accepts the PascalCase name).</summary>
    public static bool TryParse<T>(string? text, out T value)
        where T : struct, Enum
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        foreach (var v in Enum.GetValues<T>())
        {
            if (string.Equals(Of(v.ToString()), text.Trim(), StringComparison.OrdinalIgnoreCase) ||
                string.Equals(v.ToString(), text.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                value = v;
                return true;
            }
        }

        return false;
    }

    public static string Choices<T>()
        where T : struct, Enum => string.Join(", ", Enum.GetValues<T>().Select(v => Of(v.ToString())));
}
