namespace Streamboot.Admin.Imports;

/// <summary>
/// The file a remote import names (the admin API's, the web console's): a
/// path on the server, read by the server's own user. The command line is run by someone at the server who may name
/// any file they can read (a block device too); a remote caller may name only
/// a regular file with data that the server can read. The check stats before
/// it opens: opening a FIFO for reading would wait for a writer forever.
/// And only from the folders of <c>ApiImportFolders</c> (<c>DATA/import</c>):
/// the server's user can read the site's database and TLS key, which an
/// import would otherwise hand to anyone with an admin token, over NBD.
/// </summary>
public static class ImportSource
{
    /// <summary>The folders imports may come from: the setting's, or <c>DATA/import</c>.</summary>
    public static IReadOnlyList<string> AllowedFolders(string? setting, string dataFolder)
    {
        var folders = (setting ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return [.. (folders.Length == 0 ? [Path.Combine(dataFolder, "import")] : folders).Select(f => Path.TrimEndingDirectorySeparator(Path.GetFullPath(f)) + "/")];
    }

    public static AdminError? Check(string? path, IReadOnlyList<string> allowed)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return AdminError.Invalid("give path: the absolute path of a disk image on the server (imports take no uploads; copy the file to the server's import folder first)");
        }

        if (!Path.IsPathFullyQualified(path))
        {
            return AdminError.Invalid($"path '{ClientText.ForLog(path, 200)}' is relative; give the absolute path of the image on the server");
        }

        FileSystemInfo info = new FileInfo(path);
        try
        {
            if (info.LinkTarget is not null)
            {
                info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
            }
        }
        catch (IOException e)
        {
            return AdminError.Invalid($"cannot follow the link {path}: {e.Message}");
        }

        if (Directory.Exists(info.FullName))
        {
            return AdminError.Invalid($"{path} is a folder; give the disk image file in it");
        }

        if (!info.Exists)
        {
            // The Admin layer's own words for a missing file.
            return null;
        }

        // Devices, pipes, sockets and /proc files have no size of their own.
        if (info is FileInfo { Length: 0 })
        {
            return AdminError.Invalid($"{path} is empty or not a regular file (a device, a pipe, a socket); give a disk image file");
        }

        try
        {
            using var handle = File.OpenHandle(info.FullName, FileMode.Open, FileAccess.Read);
            // The file's real path, as the kernel opened it: no link or ".." in any folder of the way can move it out.
            var real = OperatingSystem.IsLinux()
                ? new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget ?? info.FullName
                : info.FullName;
            return allowed.Any(folder => real.StartsWith(folder, StringComparison.Ordinal))
                ? null
                : AdminError.Refused($"{path} is not in an import folder ({string.Join(", ", allowed.Select(f => f.TrimEnd('/')))}); copy or move the image there, or add its folder to STREAMBOOT_API_IMPORT_FOLDERS");
        }
        catch (UnauthorizedAccessException)
        {
            return AdminError.Refused($"the server's user ({Environment.UserName}) may not read {path}; make it readable to that user (chmod, chgrp) or copy it where it can");
        }
        catch (IOException e)
        {
            return AdminError.Failed($"cannot read {path}: {e.Message}");
        }
    }

    /// <summary>
    /// The files in <paramref name="allowed"/> (and their subfolders, a few
    /// levels down) that an import would accept, by the same check: what the
    /// console offers to pick from. Bounded: at most <paramref name="max"/>
    /// files, and the walk stops after looking at ten times as many.
    /// </summary>
    public static IReadOnlyList<ImportFile> List(IReadOnlyList<string> allowed, Func<string, bool>? wanted = null, int max = 500)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            MaxRecursionDepth = 4,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        };
        var found = new List<ImportFile>();
        var looked = 0;
        foreach (var folder in allowed)
        {
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var path in Directory.EnumerateFiles(folder, "*", options))
            {
                if (++looked > max * 10 || found.Count >= max)
                {
                    break;
                }

                if ((wanted is null || wanted(path)) && Check(path, allowed) is null && new FileInfo(path) is { Exists: true } info)
                {
                    found.Add(new ImportFile(path, Path.GetRelativePath(folder, path), info.LinkTarget is null ? info.Length : new FileInfo(info.ResolveLinkTarget(true)?.FullName ?? path).Length));
                }
            }
        }

        return [.. found.OrderBy(f => f.Path, StringComparer.Ordinal)];
    }
}

/// <summary>A file an import may read: its absolute path, its path within its import folder, its size.</summary>
public sealed record ImportFile(string Path, string Name, long Size);
