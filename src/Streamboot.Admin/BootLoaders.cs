using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>
/// A boot loader as an admin types it: ipxe, secure-boot, or what leaves the
/// choice to the level above (a device's "inherit": its collection's; a
/// collection's "auto").
/// </summary>
public static class BootLoaders
{
    /// <summary>Parses ipxe or secure-boot; <paramref name="unset"/> (or nothing) is null.</summary>
    public static bool TryParse(string text, string unset, out BootLoader? loader)
    {
        loader = null;
        var trimmed = text.Trim();
        if (trimmed.Length == 0 || string.Equals(trimmed, unset, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (KebabCase.TryParse<BootLoader>(trimmed, out var parsed))
        {
            loader = parsed;
            return true;
        }

        return false;
    }

    public static string Invalid(string text, string unset) =>
        $"'{text}' is not a boot loader; use ipxe, secure-boot (signed shim and GRUB, for Secure Boot), or {unset}";
}
