using System.Globalization;
using Streamboot.Admin;
using Streamboot.Data.Model;
using Streamboot.Storage.Stacks;

namespace Streamboot.Server.Farm;

/// <summary>Where this server keeps its copy of a version, and how to tell whether the file changed since it was hashed.</summary>
internal static class ReplicaFiles
{
    /// <summary>
    /// The version's file in this data folder, or null when its recorded
    /// name is not a plain file name (a name with a folder in it would leave
    /// the vDisk's folder: never opened, never written).
    /// </summary>
    public static string? PathOf(AdminSite site, VDisk vdisk, VDiskVersion version) =>
        IsPlainName(version.FileName) ? Path.Combine(site.ResolveStorePath(vdisk.StorePath), version.FileName) : null;

    public static bool IsPlainName(string name) =>
        name.Length is > 0 and <= 255 && name is not "." and not ".." && !name.Contains('/', StringComparison.Ordinal) && !name.Contains('\0', StringComparison.Ordinal);

    /// <summary>
    /// The file's device, inode, change and birth times and length, or null
    /// when there is no file. Any write changes the change time (so does a
    /// rename or chmod: those are hashed again, harmlessly).
    /// </summary>
    public static string? StampOf(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return null;
            }

            var id = FileIdentity.Of(path);
            return string.Create(CultureInfo.InvariantCulture, $"{id.Device}:{id.Inode}:{id.ChangeTimeNs}:{id.BirthTimeNs}:{info.Length}");
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
