namespace Streamboot.Admin;

/// <summary>
/// Tidying up after a failed or finished change: a file or an empty folder
/// that cannot go stays, because the error that brought us here (or the
/// change that succeeded) is the one to report.
/// </summary>
internal static class BestEffort
{
    public static void DeleteFile(string file)
    {
        try
        {
            if (file.Length > 0)
            {
                File.Delete(file);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
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
