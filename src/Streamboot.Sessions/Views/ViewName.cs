using System.Diagnostics.CodeAnalysis;
using Streamboot.Sessions.Credentials;

namespace Streamboot.Sessions.Views;

/// <summary>
/// The name a client asks for, on every protocol: <c>VDISK</c> (the
/// read-only view of production), <c>VDISK/DEVICE</c> or
/// <c>VDISK/DEVICE/KEY</c> (the device's own view: its boot's version and
/// write cache; DEVICE is a name or a MAC).
/// </summary>
public readonly record struct ViewName(string VDisk, string? Device, string? Key)
{
    /// <summary>Longer names are refused before anything looks them up.</summary>
    public const int MaxLength = 256;

    public bool IsDeviceView => Device is not null;

    public static bool TryParse(string? text, [NotNullWhen(true)] out ViewName? name)
    {
        name = null;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength)
        {
            return false;
        }

        var parts = text.Split('/');
        if (parts.Length > 3 || parts.Any(p => p.Length == 0 || p.Any(char.IsControl)))
        {
            return false;
        }

        if (parts.Length == 3 && !BootKey.IsWellFormed(parts[2]))
        {
            return false;
        }

        name = new ViewName(parts[0], parts.Length > 1 ? parts[1] : null, parts.Length > 2 ? parts[2] : null);
        return true;
    }

    /// <summary>The name as logs and refusals show it: never the key.</summary>
    public override string ToString() => Device is null ? VDisk : $"{VDisk}/{Device}";

    /// <summary>
    /// Client-supplied text for a log line: control characters replaced, cut
    /// short, and a device view's key left out.
    /// </summary>
    public static string ForLog(string? text) =>
        TryParse(text, out var name) ? ClientText.ForLog(name.Value.ToString()) : ClientText.ForLog(text);
}
