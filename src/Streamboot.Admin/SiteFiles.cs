using System.Globalization;
using System.Text.RegularExpressions;

namespace Streamboot.Admin;

/// <summary>
/// The files the site keeps for a vDisk beside its store
/// (<c>DATA/vdisks/VDISK/</c>: images and <c>boot/</c>): the server-side
/// write caches of its devices in <c>DATA/cache/VDISK/</c>
/// (<c>DEVICE.vN.ID.qcow2</c>, <c>DEVICE.vN.ID.ram-overflow</c>) and its
/// versions' boot profiles <c>DATA/profiles/VDISK.vN.profile</c>. One
/// place knows these names, so that what deletes a vDisk or a version
/// deletes everything it owns.
/// </summary>
public static partial class SiteFiles
{
    /// <summary>The folder of a vDisk's boot files (kernel, initrd, cmdline) in its store.</summary>
    public const string BootFolder = "boot";

    public static string CacheRoot(string dataFolder) => Path.Combine(dataFolder, "cache");

    public static string ProfileRoot(string dataFolder) => Path.Combine(dataFolder, "profiles");

    /// <summary>The folder of the vDisk's devices' write caches.</summary>
    public static string CacheFolder(string dataFolder, string vdisk) => Path.Combine(CacheRoot(dataFolder), vdisk);

    public static string ProfilePath(string dataFolder, string vdisk, int version) =>
        Path.Combine(ProfileRoot(dataFolder), $"{vdisk}.v{version.ToString(CultureInfo.InvariantCulture)}.profile");

    /// <summary>Every boot profile of the vDisk, of any version (and a save left half-done).</summary>
    public static IEnumerable<string> Profiles(string dataFolder, string vdisk)
    {
        var root = ProfileRoot(dataFolder);
        if (!Directory.Exists(root))
        {
            return [];
        }

        // Names may hold dots: "a" must not take the profiles of "a.v1".
        var prefix = vdisk + ".v";
        return Directory.EnumerateFiles(root)
            .Where(f => Path.GetFileName(f) is var n && n.StartsWith(prefix, StringComparison.Ordinal) && ProfileSuffix().IsMatch(n[prefix.Length..]))
            .ToList();
    }

    /// <summary>The write-cache files of one version of the vDisk (any device).</summary>
    public static IEnumerable<string> CachesOfVersion(string dataFolder, string vdisk, int version, long versionId)
    {
        var folder = CacheFolder(dataFolder, vdisk);
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var suffix = $".v{version.ToString(CultureInfo.InvariantCulture)}.{versionId.ToString(CultureInfo.InvariantCulture)}.";
        return Directory.EnumerateFiles(folder).Where(f => Path.GetFileName(f).Contains(suffix, StringComparison.Ordinal)).ToList();
    }

    [GeneratedRegex(@"^\d+\.profile(\.tmp)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ProfileSuffix();
}
