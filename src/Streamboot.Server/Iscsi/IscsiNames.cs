namespace Streamboot.Server.Iscsi;

/// <summary>
/// How iSCSI target names map to the session layer's views (RFC 7143 4.2.7.2,
/// iqn. names): <c>BASE:VDISK</c> is the vDisk's read-only view,
/// <c>BASE:VDISK:DEVICE</c> a device's own disk (its boot's key is the CHAP
/// secret). BASE is the site's naming authority (<c>Streamboot:IscsiBaseName</c>,
/// the same on every server of a farm). ':' separates the parts because
/// neither vDisk names nor device names may contain it; names are written
/// in lower case, as iSCSI names compare, and matched without case.
/// </summary>
public static class IscsiNames
{
    public const string DefaultBaseName = "iqn.2026-01.org.streamboot";

    public static string ForVDisk(string baseName, string vdisk) => $"{baseName}:{vdisk}".ToLowerInvariant();

    public static string ForDevice(string baseName, string vdisk, string device) => $"{baseName}:{vdisk}:{device}".ToLowerInvariant();

    /// <summary>The vDisk and (for a device's own disk) the device a target name names; false for a name of another authority or shape.</summary>
    public static bool TryParse(string baseName, string? target, out string vdisk, out string? device)
    {
        vdisk = "";
        device = null;
        var prefix = baseName + ":";
        if (target is null || target.Length <= prefix.Length || !target.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var parts = target[prefix.Length..].Split(':');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0))
        {
            return false;
        }

        vdisk = parts[0];
        device = parts.Length == 2 ? parts[1] : null;
        return true;
    }

    /// <summary>Whether a base name is an iqn. name (RFC 7143 4.2.7.2: iqn.YYYY-MM.reversed.domain).</summary>
    public static bool IsValidBaseName(string? baseName) =>
        baseName is { Length: > 12 and < 160 }
        && System.Text.RegularExpressions.Regex.IsMatch(baseName, "^iqn\\.[0-9]{4}-[0-9]{2}\\.[a-z0-9][a-z0-9.-]*$");
}
