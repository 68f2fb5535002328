using Streamboot.Data.Model;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Integrity;

namespace Streamboot.Admin.Stores;

/// <summary>
/// Which versions have a file that no longer changes, and the record of
/// what that file is (its content hash, length and backing file). A
/// standard vDisk's version is frozen once it leaves maintenance: clients'
/// writes go to their write caches, never into it. A maintenance version is
/// written by its maintenance device, and a private image by its owner:
/// neither is frozen, hashed or replicated.
/// </summary>
public static class VersionContent
{
    public static bool IsFrozen(AccessMode access, VersionStage stage) =>
        access == AccessMode.Standard && stage != VersionStage.Maintenance;

    /// <summary>
    /// Hashes the version's file in this data folder and records the digest
    /// and the backing file on <paramref name="version"/> (the caller saves).
    /// </summary>
    public static async Task<AdminError?> RecordAsync(AdminSite site, VDisk vdisk, VDiskVersion version, CancellationToken cancellationToken)
    {
        var folder = site.ResolveStorePath(vdisk.StorePath);
        var path = Path.Combine(folder, version.FileName);
        if (!File.Exists(path))
        {
            return AdminError.Refused($"version {version.Number} of '{vdisk.Name}' has no file in this data folder ({path}); run this with the --data of the server that holds it");
        }

        try
        {
            var backing = BackingOf(path, folder);
            var digest = await ContentHash.OfFileAsync(path, cancellationToken: cancellationToken);
            version.ContentHash = digest.Sha256;
            version.ContentLength = digest.Length;
            version.HashedAt = site.UtcNow;
            version.BackingFile = backing;
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BlockDeviceException)
        {
            return AdminError.Failed($"cannot hash version {version.Number} of '{vdisk.Name}' ({path}): {e.Message}");
        }
    }

    /// <summary>The file name of the image below (in the same folder), or null for a base.</summary>
    private static string? BackingOf(string path, string folder)
    {
        var chain = ImageChain.Describe(path);
        if (chain.Count < 2)
        {
            return null;
        }

        var below = Path.GetFullPath(chain[1]);
        if (!string.Equals(Path.GetDirectoryName(below), Path.GetFullPath(folder).TrimEnd('/'), StringComparison.Ordinal))
        {
            // Streamboot names backing files relatively, in the same folder; a
            // chain into another folder could not be copied to another server.
            throw new IOException($"its backing file {below} is outside the vDisk's folder");
        }

        return Path.GetFileName(below);
    }
}
