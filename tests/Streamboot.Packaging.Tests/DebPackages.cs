using Streamboot.Testing;

namespace Streamboot.Packaging.Tests;

/// <summary>
/// The packages the tests look into and install, built once: deploy/deb/build.sh
/// as a release runs it (its own self-contained publish, xz), then again from
/// that same publish with a higher version (gzip: a fifth of xz's time), the
/// upgrade.
/// </summary>
public sealed class DebPackages : IAsyncLifetime
{
    private readonly TempFolder _work = new("streamboot-deb");

    public static string Script => Path.Combine(Repository.Root, "deploy", "deb", "build.sh");

    /// <summary>The release build: the version the program prints.</summary>
    public string First { get; private set; } = "";

    public string FirstVersion { get; private set; } = "";

    /// <summary>The same program under a higher version.</summary>
    public string Upgrade { get; private set; } = "";

    public string UpgradeVersion { get; private set; } = "";

    public async Task InitializeAsync()
    {
        First = await BuildAsync();
        FirstVersion = await FieldAsync(First, "Version");
        UpgradeVersion = FirstVersion + "+upgrade1";
        Upgrade = await BuildAsync("--reuse-publish", "--compression", "gzip", "--version", UpgradeVersion);
        Assert.Equal(UpgradeVersion, await FieldAsync(Upgrade, "Version"));
    }

    /// <summary>One field of a .deb's control file.</summary>
    public static async Task<string> FieldAsync(string deb, string field)
    {
        var result = await ProcessRunner.RunAsync(Tools.Require("dpkg-deb", "dpkg"), ["--field", deb, field]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Trim();
    }

    public Task DisposeAsync()
    {
        _work.Dispose();
        return Task.CompletedTask;
    }

    private async Task<string> BuildAsync(params string[] arguments)
    {
        // The self-contained publish dominates: a few minutes on two busy cores.
        var result = await ProcessRunner.RunAsync(Script, ["--out", _work.Path, .. arguments], timeout: TimeSpan.FromMinutes(20));
        Assert.True(result.ExitCode == 0, $"build.sh {string.Join(' ', arguments)}: {result}");
        var deb = result.Stdout.TrimEnd().Split('\n')[^1];
        Assert.True(deb.EndsWith(".deb", StringComparison.Ordinal) && File.Exists(deb), $"build.sh's last line is not a package: {result}");
        return deb;
    }
}

[CollectionDefinition(Name)]
public sealed class DebPackagesCollection : ICollectionFixture<DebPackages>
{
    /// <summary>Tests that share the built packages, one at a time (one of them installs them).</summary>
    public const string Name = "deb packages";
}
