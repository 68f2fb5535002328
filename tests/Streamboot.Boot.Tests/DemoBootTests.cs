using System.Text.RegularExpressions;
using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// <c>./streamboot demo</c> through the real launcher, as a new user runs it:
/// with <c>--check</c> it must boot its VM to the test OS under the
/// device's name, say each step, and leave nothing behind.
/// </summary>
public sealed partial class DemoBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Demo_check_boots_the_vm_to_the_test_os_under_the_device_name_and_cleans_up()
    {
        var started = DateTime.UtcNow;
        var result = await ProcessRunner.RunAsync(
            Repository.Launcher,
            ["demo", "--check", "--timeout", "300"],
            new Dictionary<string, string?> { ["STREAMBOOT_DATA"] = null, ["STREAMBOOT_DB"] = null },
            Repository.Root,
            TimeSpan.FromMinutes(15));
        output.WriteLine($"demo --check took {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        output.WriteLine(result.ToString());

        Assert.True(result.ExitCode == 0, result.ToString());
        var stdout = result.Stdout;
        Assert.Contains("streamboot serve --dhcp full --dhcp-interface sbbr0", stdout, StringComparison.Ordinal);
        Assert.Contains("--- 2. DHCP: Streamboot (full mode) gave an address", stdout, StringComparison.Ordinal);
        Assert.Contains("--- 4. the kernel:", stdout, StringComparison.Ordinal);
        Assert.Contains("--- 6. the test OS runs from the streamed vDisk", stdout, StringComparison.Ordinal);
        Assert.Contains("Streamboot: this is DEMO-01", stdout, StringComparison.Ordinal);
        Assert.Matches(@"STREAMBOOT-TEST-OS up: hostname=DEMO-01 .*root=/dev/nbd0p2", stdout);
        Assert.Contains("streamboot demo: OK: DEMO-01 runs the test OS from vDisk testos", stdout, StringComparison.Ordinal);

        // Nothing left: the namespace and the temporary data folder are gone.
        var cleaned = CleanedUp().Match(stdout);
        Assert.True(cleaned.Success, stdout);
        var namespaces = await ProcessRunner.RunAsync("ip", ["netns", "list"]);
        Assert.DoesNotContain(cleaned.Groups["ns"].Value, namespaces.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(cleaned.Groups["data"].Value), $"{cleaned.Groups["data"].Value} is still there");
        Assert.Empty(ProcessesMentioning(cleaned.Groups["data"].Value));
    }

    /// <summary>Live processes whose command line names <paramref name="text"/> (the demo's server and VM name its data folder).</summary>
    private static List<string> ProcessesMentioning(string text)
    {
        var found = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(folder, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(text, StringComparison.Ordinal))
                {
                    found.Add($"{Path.GetFileName(folder)}: {commandLine}");
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    [Fact]
    public async Task Demo_check_that_runs_out_of_time_exits_1_with_the_reason_and_cleans_up()
    {
        var result = await ProcessRunner.RunAsync(
            Repository.Launcher,
            ["demo", "--check", "--timeout", "10"],
            new Dictionary<string, string?> { ["STREAMBOOT_DATA"] = null, ["STREAMBOOT_DB"] = null },
            Repository.Root,
            TimeSpan.FromMinutes(15));

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("streamboot demo: FAILED:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("time limit", result.Stderr, StringComparison.Ordinal);
        var cleaned = CleanedUp().Match(result.Stdout);
        Assert.True(cleaned.Success, result.ToString());
        Assert.DoesNotContain(cleaned.Groups["ns"].Value, (await ProcessRunner.RunAsync("ip", ["netns", "list"])).Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(cleaned.Groups["data"].Value));
        Assert.Empty(ProcessesMentioning(cleaned.Groups["data"].Value));
    }

    [Fact]
    public async Task Demo_as_a_normal_user_says_it_needs_root_and_exits_1()
    {
        // nobody, with the launcher's build already done by the tests before.
        await ProcessRunner.RunAsync(Repository.Launcher, ["--version"], workingDirectory: Repository.Root, timeout: TimeSpan.FromMinutes(10));
        var result = await ProcessRunner.RunAsync(
            "setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", Repository.Launcher, "demo", "--check"],
            new Dictionary<string, string?> { ["HOME"] = "/tmp" },
            Repository.Root);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("streamboot demo: needs root", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--no-such-flag")]
    [InlineData("--timeout", "abc")]
    [InlineData("--timeout", "1")]
    public async Task Demo_with_a_bad_flag_is_a_usage_error(params string[] flags)
    {
        var result = await ProcessRunner.RunAsync(Repository.Launcher, ["demo", .. flags], workingDirectory: Repository.Root);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.NotEmpty(result.Stderr);
        Assert.DoesNotContain("==>", result.Stdout, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"cleaned up \(VM, server, network namespace (?<ns>sbdemo-\d+), data folder (?<data>\S+)\)")]
    private static partial Regex CleanedUp();
}
