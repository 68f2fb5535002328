using Streamboot.Testing;

namespace Streamboot.Packaging.Tests;

/// <summary>The programs these tests drive, found on PATH; a missing one fails the test with the package to install.</summary>
public static class Tools
{
    public static string Require(string program, string debianPackage) =>
        ProcessRunner.Find(program, "/usr/sbin", "/sbin")
            ?? throw new InvalidOperationException($"{program} is missing: install Debian's '{debianPackage}' (./test.sh installs it)");

    /// <summary>Owner, group and octal mode, as <c>stat -c '%U:%G %a'</c> prints them: <c>streamboot:streamboot 750</c>.</summary>
    public static async Task<string> OwnerAndModeAsync(string path)
    {
        var stat = await ProcessRunner.RunAsync(Require("stat", "coreutils"), ["-c", "%U:%G %a", path]);
        Assert.True(stat.ExitCode == 0, stat.ToString());
        return stat.Stdout.Trim();
    }

    /// <summary>
    /// Runs <paramref name="program"/> (looked up on PATH) as <paramref name="user"/>
    /// with the environment a login of that user would have, and none of the
    /// test's own STREAMBOOT_* settings.
    /// </summary>
    public static Task<ProcessResult> AsUserAsync(string user, string group, string home, string program, params string[] arguments) =>
        ProcessRunner.RunAsync(
            Require("setpriv", "util-linux"),
            ["--reuid", user, "--regid", group, "--init-groups", "--", program, .. arguments],
            UserEnvironment(user, home),
            workingDirectory: "/");

    public static Dictionary<string, string?> UserEnvironment(string user, string home)
    {
        var environment = new Dictionary<string, string?> { ["HOME"] = home, ["USER"] = user, ["LOGNAME"] = user, ["NOTIFY_SOCKET"] = null };
        foreach (var name in System.Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(n => n.StartsWith("STREAMBOOT_", StringComparison.Ordinal)))
        {
            environment[name] = null;
        }

        return environment;
    }
}
