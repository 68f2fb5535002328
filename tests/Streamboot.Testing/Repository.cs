namespace Streamboot.Testing;

/// <summary>Where the checkout is, found from the test's own location.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>The launcher every user and test runs: ./streamboot.</summary>
    public static string Launcher => Path.Combine(Root, "streamboot");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Streamboot.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Streamboot.slnx above {AppContext.BaseDirectory}");
    }
}
