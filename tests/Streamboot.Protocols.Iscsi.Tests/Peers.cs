using Streamboot.Testing;

namespace Streamboot.Protocols.Iscsi.Tests;

/// <summary>The third-party initiators and targets; a missing one fails the test and names its Debian package.</summary>
public static class Peers
{
    public static string Path(string tool, string package) =>
        ProcessRunner.Find(tool, "/usr/sbin", "/sbin") ?? throw new InvalidOperationException($"{tool} is not installed: install Debian's '{package}' package (./test.sh installs it)");

    public static Task<ProcessResult> RunAsync(string tool, string package, params string[] arguments) =>
        ProcessRunner.RunAsync(Path(tool, package), arguments, timeout: TimeSpan.FromSeconds(120));

    /// <summary>Runs a tool and fails the test with its output unless it exits 0.</summary>
    public static async Task<string> CheckAsync(string tool, string package, params string[] arguments)
    {
        var result = await RunAsync(tool, package, arguments);
        Assert.True(result.ExitCode == 0, $"{tool} {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }

    public static Task<string> LibiscsiAsync(string tool, params string[] arguments) => CheckAsync(tool, "libiscsi-bin", arguments);

    /// <summary>qemu-io over qemu's libiscsi driver (Debian's qemu-block-extra).</summary>
    public static async Task<string> QemuIoAsync(string url, params string[] commands)
    {
        var arguments = new List<string> { "-f", "raw" };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(url);
        var result = await RunAsync("qemu-io", "qemu-utils and qemu-block-extra", [.. arguments]);
        Assert.True(result.ExitCode == 0 && !result.Stdout.Contains("Pattern verification failed", StringComparison.Ordinal) && !result.Stderr.Contains("Unknown protocol", StringComparison.Ordinal),
            $"qemu-io {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }
}
