using System.Globalization;
using System.Text.RegularExpressions;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Security;

/// <summary>deploy/streamboot.service as systemd itself reads it: valid, a user of its own, the two capabilities the boot services need, little exposure.</summary>
public sealed partial class UnitFileTests
{
    [Fact]
    public async Task The_unit_is_valid_runs_as_its_own_user_and_keeps_only_the_capabilities_it_needs()
    {
        using var folder = new TempFolder("unit");
        var unit = File.ReadAllText(Path.Combine(Repository.Root, "deploy", "streamboot.service"));
        Assert.Contains("\nUser=streamboot\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nUMask=0027\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nAmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_RAW\n", unit, StringComparison.Ordinal);

        // systemd checks that ExecStart exists: point it at the launcher.
        var copy = Path.Combine(folder.Path, "streamboot.service");
        await File.WriteAllTextAsync(copy, unit.Replace("/usr/lib/streamboot/streamboot", Repository.Launcher, StringComparison.Ordinal));
        var systemdAnalyze = ProcessRunner.Find("systemd-analyze") ?? throw new InvalidOperationException("systemd-analyze is missing: install Debian's 'systemd' package (./test.sh installs it)");
        var verify = await ProcessRunner.RunAsync(systemdAnalyze, ["verify", copy]);
        Assert.True(verify.ExitCode == 0 && verify.Stderr.Trim().Length == 0, verify.ToString());

        var security = await ProcessRunner.RunAsync(systemdAnalyze, ["security", "--offline=true", copy]);
        var exposure = Exposure().Match(security.Stdout + security.Stderr);
        Assert.True(exposure.Success, security.ToString());
        Assert.True(double.Parse(exposure.Groups[1].Value, CultureInfo.InvariantCulture) < 5.0, exposure.Value);
        Assert.Contains("u streamboot ", File.ReadAllText(Path.Combine(Repository.Root, "deploy", "streamboot.sysusers.conf")), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Overall exposure level for \S+: (\d+\.\d+)")]
    private static partial Regex Exposure();
}
