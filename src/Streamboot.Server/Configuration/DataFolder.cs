using System.Diagnostics.CodeAnalysis;

namespace Streamboot.Server.Configuration;

/// <summary>Where Streamboot keeps its state when nobody says otherwise, and whether it can write there.</summary>
public static class DataFolder
{
    /// <summary>
    /// /var/lib/streamboot for root (where a service's state lives on Linux),
    /// $XDG_DATA_HOME/streamboot (~/.local/share/streamboot) for other users.
    /// </summary>
    public static string Default()
    {
        if (Environment.UserName == "root")
        {
            return "/var/lib/streamboot";
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var baseFolder = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(baseFolder, "streamboot");
    }

    /// <summary>Creates the folder if needed and proves it writable by writing a file in it.</summary>
    public static bool TryPrepare(string folder, [NotNullWhen(false)] out string? error)
    {
        error = null;
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".write-test-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"data folder {Path.GetFullPath(folder)} is not writable ({e.Message}); choose another with --data DIR or STREAMBOOT_DATA, or fix its permissions";
            return false;
        }
    }
}
