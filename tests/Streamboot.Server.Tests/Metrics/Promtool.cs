using Streamboot.Testing;

namespace Streamboot.Server.Tests.Metrics;

/// <summary>Debian's promtool (package prometheus): <c>promtool check metrics</c> parses an exposition as Prometheus would and lints it.</summary>
internal static class Promtool
{
    /// <summary>Exit 0: it parsed, and no rule was broken (a missing HELP, a counter without _total, a reserved label...).</summary>
    public static async Task CheckAsync(string exposition)
    {
        var promtool = ProcessRunner.Find("promtool")
            ?? throw new InvalidOperationException("promtool is not installed; apt-get install prometheus (test.sh installs it)");
        using var folder = new TempFolder("metrics");
        var file = folder.Combine("metrics.txt");
        await File.WriteAllTextAsync(file, exposition);
        var check = await ProcessRunner.RunAsync("sh", ["-c", "\"$0\" check metrics < \"$1\"", promtool, file]);
        Assert.True(check.ExitCode == 0, $"promtool check metrics failed: {check}\n{exposition}");
    }
}
