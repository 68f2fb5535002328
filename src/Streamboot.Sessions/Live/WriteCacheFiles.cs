using System.Globalization;
using System.Text.RegularExpressions;

namespace Streamboot.Sessions.Live;

/// <summary>
/// Where server-side write caches live: <c>DATA/cache/VDISK/DEVICE.vN.ID.qcow2</c>
/// (server-disk) and <c>DEVICE.vN.ID.ram-overflow</c> (server-ram past its
/// RAM). ID is the version's database id, which a deleted and re-made
/// version never shares: a persistent cache can only ever lie over the
/// version it was written on.
/// </summary>
internal sealed partial class WriteCacheFiles(string dataFolder)
{
    public string Root { get; } = Admin.SiteFiles.CacheRoot(dataFolder);

    public string OverlayPath(string vdisk, string device, int version, long versionId) =>
        Path.Combine(Root, vdisk, $"{device}.v{version.ToString(CultureInfo.InvariantCulture)}.{versionId.ToString(CultureInfo.InvariantCulture)}.qcow2");

    public string RamOverflowPath(string vdisk, string device, int version, long versionId) =>
        Path.Combine(Root, vdisk, $"{device}.v{version.ToString(CultureInfo.InvariantCulture)}.{versionId.ToString(CultureInfo.InvariantCulture)}.ram-overflow");

    /// <summary>Deletes the device's caches of its other versions of the vDisk (earlier boots').</summary>
    public int DiscardOthers(string vdisk, string device, string keep)
    {
        var folder = Path.Combine(Root, vdisk);
        return Directory.Exists(folder) ? Delete(Directory.GetFiles(folder).Where(f => IsDevices(f, device) && !string.Equals(f, keep, StringComparison.Ordinal))) : 0;
    }

    /// <summary>Deletes every write-cache file of the device, on every vDisk (a new boot starts clean); returns how many.</summary>
    public int Discard(string device) =>
        Directory.Exists(Root) ? Delete(Directory.GetDirectories(Root).SelectMany(Directory.GetFiles).Where(f => IsDevices(f, device))) : 0;

    private static bool IsDevices(string file, string device)
    {
        var match = CacheFileName().Match(Path.GetFileName(file));
        return match.Success && string.Equals(match.Groups["device"].Value, device, StringComparison.OrdinalIgnoreCase);
    }

    private static int Delete(IEnumerable<string> files)
    {
        var count = 0;
        foreach (var file in files.ToList())
        {
            File.Delete(file);
            count++;
        }

        return count;
    }

    // Device names are host labels (no dots), so the first dot ends the name.
    [GeneratedRegex(@"^(?<device>[^.]+)\.v\d+\.\d+\.(qcow2|ram-overflow)$", RegexOptions.CultureInvariant)]
    private static partial Regex CacheFileName();
}
