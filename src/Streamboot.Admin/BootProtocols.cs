using Streamboot.Data;
using Streamboot.Data.Model;

namespace Streamboot.Admin;

/// <summary>A boot protocol as an admin types it: nbd, http, iscsi, or auto (unset).</summary>
public static class BootProtocols
{
    public static bool TryParse(string text, out BootProtocol? protocol)
    {
        protocol = null;
        if (string.Equals(text.Trim(), "auto", StringComparison.OrdinalIgnoreCase) || text.Trim().Length == 0)
        {
            return true;
        }

        if (KebabCase.TryParse<BootProtocol>(text.Trim(), out var parsed))
        {
            protocol = parsed;
            return true;
        }

        return false;
    }

    public static string Invalid(string text) =>
        $"'{text}' is not a boot protocol; use nbd, http, iscsi, or auto (unset)";
}
