using Streamboot.Data.Model;

namespace Streamboot.Admin.Stores;

/// <summary>
/// A version's chain from the database alone: the version, then the
/// version whose file its recorded backing file names, down to a base. A
/// server serves a version only when it holds a verified copy of every
/// frozen version of that chain: the image below is read as much as the top.
/// </summary>
public static class VersionChains
{
    /// <summary>The version and those below it, top first. A backing file no version has ends the chain (the caller finds it unverified).</summary>
    public static IReadOnlyList<VDiskVersion> Of(VDiskVersion top, IEnumerable<VDiskVersion> versionsOfVDisk)
    {
        var byFile = versionsOfVDisk.GroupBy(v => v.FileName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var chain = new List<VDiskVersion> { top };
        var seen = new HashSet<long> { top.Id };
        var current = top;
        while (current.BackingFile is { } backing && byFile.TryGetValue(backing, out var below) && seen.Add(below.Id))
        {
            chain.Add(below);
            current = below;
        }

        if (current.BackingFile is null && current.ContentHash is null && current.Number > 1)
        {
            // Not hashed yet (a maintenance version, or hashed before the
            // backing was recorded): every version below may be its chain.
            chain.AddRange(versionsOfVDisk.Where(v => v.Number < current.Number && seen.Add(v.Id)).OrderByDescending(v => v.Number));
        }

        return chain;
    }
}
