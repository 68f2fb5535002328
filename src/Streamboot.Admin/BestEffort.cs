namespace Streamboot.Admin;

/// <summary>
/// Tidying up after a failed or finished change: a file or an empty folder
/// that cannot go stays, because the error that brought us here (or the
/// change that succeeded) is the one to report.
/// </summary>
internal static class BestEffort
{
    /// <summary>Deletes the file; true when it was there and is gone.</summary>
    public static bool DeleteFile(string file)
    {
        try
        {
            if (file.Length > 0 && File.Exists(file))
            {
                File.Delete(file);
                return true;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return false;
    }

    /// <summary>Deletes the folder and everything in it; returns how many files went.</summary>
    public static int DeleteFolder(string folder)
    {
        try
        {
            if (!Directory.Exists(folder))
            {
                return 0;
            }

            var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Count();
            Directory.Delete(folder, recursive: true);
            return files;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }

    public static void RemoveFolderIfEmpty(string folder)
    {
        try
        {
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
            {
                Directory.Delete(folder);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
