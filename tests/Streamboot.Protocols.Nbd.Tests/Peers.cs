using Streamboot.Testing;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>The third-party NBD clients; a missing one fails the test and names its Debian package.</summary>
public static class Peers
{
    public static string Path(string tool, string package) =>
        ProcessRunner.Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's '{package}' package");

    // Debian's tools first on PATH: nbdsh runs "python3", which must be the
    // Debian interpreter that has libnbd's module (python3-libnbd), not a pyenv one.
    private static readonly Dictionary<string, string?> s_environment = new(StringComparer.Ordinal)
    {
        ["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin:" + Environment.GetEnvironmentVariable("PATH"),
        ["PYENV_VERSION"] = "system",
    };

    public static Task<ProcessResult> RunAsync(string tool, string package, params string[] arguments) =>
        ProcessRunner.RunAsync(Path(tool, package), arguments, s_environment, timeout: TimeSpan.FromSeconds(60));

    /// <summary>Runs a tool and fails the test with its output unless it exits 0.</summary>
    public static async Task<string> CheckAsync(string tool, string package, params string[] arguments)
    {
        var result = await RunAsync(tool, package, arguments);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }

    public static Task<string> NbdInfoAsync(params string[] arguments) => CheckAsync("nbdinfo", "libnbd-bin", arguments);

    public static Task<string> NbdCopyAsync(params string[] arguments) => CheckAsync("nbdcopy", "libnbd-bin", arguments);

    public static Task<string> NbdShAsync(string url, string script) =>
        CheckAsync("nbdsh", "libnbd-bin (and python3-libnbd)", "-u", url, "-c", script);
}
