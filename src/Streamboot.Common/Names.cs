using System.Diagnostics.CodeAnalysis;

namespace Streamboot;

/// <summary>
/// The rules for names admins give things. Device names become computer
/// names and DNS host names, so they follow RFC 1123 labels; vDisk and
/// collection names end up in NBD export names, iSCSI target names, URLs and
/// file names, so they keep to a portable subset.
/// </summary>
public static class Names
{
    public const int MaxHostNameLength = 63;
    public const int MaxObjectNameLength = 64;

    /// <summary>An RFC 1123 host label: letters, digits, hyphens, no hyphen at either end.</summary>
    public static bool TryValidateHostName(string? name, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(name))
        {
            error = "a device name cannot be empty";
            return false;
        }

        if (name.Length > MaxHostNameLength)
        {
            error = $"device name '{name}' is {name.Length} characters; a host name has at most {MaxHostNameLength}";
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
            {
                error = $"device name '{name}' contains '{c}'; use letters, digits and hyphens (it becomes the computer's host name)";
                return false;
            }
        }

        if (name[0] == '-' || name[^1] == '-')
        {
            error = $"device name '{name}' starts or ends with a hyphen; host names cannot";
            return false;
        }

        if (name.All(char.IsAsciiDigit))
        {
            error = $"device name '{name}' is all digits; a host name needs a letter";
            return false;
        }

        return true;
    }

    /// <summary>vDisk and collection names: letters, digits, '.', '_', '-', starting with a letter or digit.</summary>
    public static bool TryValidateObjectName(string what, string? name, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(name))
        {
            error = $"a {what} name cannot be empty";
            return false;
        }

        if (name.Length > MaxObjectNameLength)
        {
            error = $"{what} name '{name}' is {name.Length} characters; the limit is {MaxObjectNameLength}";
            return false;
        }

        if (!char.IsAsciiLetterOrDigit(name[0]))
        {
            error = $"{what} name '{name}' must start with a letter or digit";
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                error = $"{what} name '{name}' contains '{c}'; use letters, digits, '.', '_' and '-'";
                return false;
            }
        }

        return true;
    }
}
