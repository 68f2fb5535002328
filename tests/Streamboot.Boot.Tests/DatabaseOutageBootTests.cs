using System.Diagnostics;
using System.Globalization;
using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The site's PostgreSQL stops for more than 30 s while diskless machines
/// stream from a farm of two servers: the one writing keeps writing, the
/// one powered off and on boots again (boot script, kernel, a new boot's
/// key, its disk over NBD) from the server's snapshot, changes and new
/// machines are refused with one line, and when the database is back the
/// boot made during the outage is in it and changes work again.
/// </summary>
public sealed class DatabaseOutageBootTests(ITestOutputHelper output)
{
    private const string Streaming = "52:54:00:fa:20:01";
    private const string Rebooting = "52:54:00:fa:20:02";

    private static readonly Dictionary<string, string?> Farm = new()
    {
        ["STREAMBOOT_HEARTBEAT_SECONDS"] = "1",
        ["STREAMBOOT_SERVER_DOWN_SECONDS"] = "6",
        ["STREAMBOOT_SNAPSHOT_SECONDS"] = "1",
        ["STREAMBOOT_ISCSI_PORT"] = "0",
    };

    [Fact]
    public async Task With_the_database_stopped_for_thirty_seconds_clients_keep_streaming_one_reboots_and_changes_wait()
    {
        var postgres = await PostgresCluster.StartOwnAsync();
        var database = await postgres.CreateDatabaseAsync();
        await using var site = await BootSite.CreateAsync();
        site.Cli.Environment["STREAMBOOT_DB"] = postgres.SocketConnectionString(PostgresCluster.DatabaseOf(database.ConnectionString));
        foreach (var (key, value) in Farm)
        {
            site.Cli.Environment[key] = value;
        }

        await TestOs.ImportAsync(site, "std", "", "--write-cache", "server-disk");
        await site.Cli.OkAsync("device", "add", Streaming, "--name", "lab-stream", "--persistent-write-cache", "true");
        await site.Cli.OkAsync("device", "add", Rebooting, "--name", "lab-reboot", "--persistent-write-cache", "true");
        await site.Cli.OkAsync("assign", "lab-stream", "std");
        await site.Cli.OkAsync("assign", "lab-reboot", "std");
        await site.StartServerAsync(["--server-name", "a"], Farm);
        var b = await site.StartOtherServerAsync($"{site.Network.Prefix}.3", "b", [], Farm);
        // Both machines on a (b takes none while drained), then b joins: the reboot stays on a.
        await site.Cli.OkAsync("server", "drain", "b");
        try
        {
            await RunAsync(site, postgres, b);
        }
        catch
        {
            output.WriteLine($"--- server a:\n{site.Server?.Output}\n--- server b:\n{b.Output}");
            throw;
        }
    }

    private async Task RunAsync(BootSite site, PostgresCluster postgres, ServerProcess b)
    {
        await site.StartIpxeDhcpAsync();
        var client = await site.Network.AddHostAsync($"{site.Network.Prefix}.9");

        var streaming = await site.StartVmAsync(Streaming);
        var rebooting = await site.StartVmAsync(Rebooting);
        await TestOs.WaitUpAsync(streaming, TimeSpan.FromMinutes(5));
        await TestOs.WaitUpAsync(rebooting, TimeSpan.FromMinutes(5));
        await site.Cli.OkAsync("server", "enable", "b");
        await rebooting.RunAsync("echo before-outage > /root/mark && sync");
        var firstBoot = await TestOs.LiveSessionAsync(site, "lab-reboot") ?? throw new InvalidOperationException("lab-reboot has no live session");
        await streaming.RunAsync("dmesg -n 1; (i=0; while [ ! -e /root/stop ]; do i=$((i+1)); echo $i > /root/n.$i; echo $i > /root/last; sync; sleep 0.3; done) >/dev/null 2>&1 & true");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var before = await LastAsync(streaming);
        // Each server's snapshot is refreshed every second; give both one after the last boot.
        await Task.Delay(TimeSpan.FromSeconds(3));

        // The outage.
        await postgres.StopAsync();
        var outage = Stopwatch.StartNew();

        // Changes and admin views get one line that says what is wrong, not a stack trace.
        var refused = await site.Cli.RunAsync("device", "add", "52:54:00:fa:20:09", "--name", "lab-late");
        output.WriteLine($"device add during the outage: {refused}");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("database", refused.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", refused.Stderr, StringComparison.Ordinal);

        // The machine that reboots: powered off, on again, the whole chain from the snapshot.
        await rebooting.PowerOffAsync();
        var again = await site.StartVmAsync(Rebooting);
        await TestOs.WaitUpAsync(again, TimeSpan.FromMinutes(5));
        Assert.Equal("before-outage\n", await again.RunAsync("cat /root/mark"));
        await again.RunAsync("echo during-outage > /root/mark2 && sync");
        var rebootedIn = outage.Elapsed;
        Assert.Contains("site database is unreachable", site.Server!.Output, StringComparison.Ordinal);

        // An unknown machine is told why it waits.
        var unknown = await Curl(client, $"{site.BaseUrl}/boot.ipxe?mac=52:54:00:fa:20:0a");
        Assert.Contains("registered only while the site database answers", unknown, StringComparison.Ordinal);
        Assert.Contains("snapshot", await Curl(client, $"{site.BaseUrl}/healthz"), StringComparison.Ordinal);

        var during = await LastAsync(streaming);
        Assert.True(during > before, $"the writing machine stopped during the outage: {before} then {during}");
        if (outage.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(TimeSpan.FromSeconds(30) - outage.Elapsed);
        }

        var stillDuring = await LastAsync(streaming);
        await postgres.StartAgainAsync();
        output.WriteLine($"database down {outage.Elapsed.TotalSeconds:F1} s; the rebooted machine was up {rebootedIn.TotalSeconds:F1} s into it; the loop went {before} -> {during} -> {stillDuring}");
        await site.Server!.WaitForOutputAsync("site database is back", TimeSpan.FromMinutes(1));
        await b.WaitForOutputAsync("site database is back", TimeSpan.FromMinutes(1));

        // What the outage did is in the database: the new boot's live session, on a.
        var secondBoot = await TestOs.LiveSessionAsync(site, "lab-reboot") ?? throw new InvalidOperationException("lab-reboot's outage boot is not in the database");
        Assert.NotEqual(firstBoot.GetProperty("id").GetInt64(), secondBoot.GetProperty("id").GetInt64());
        Assert.Equal("a", secondBoot.GetProperty("server").GetString());
        Assert.NotNull(await TestOs.LiveSessionAsync(site, "lab-stream"));
        var sessions = await site.Cli.JsonAsync("session", "list", "--all");
        Assert.Equal(2, sessions.EnumerateArray().Count(s => s.GetProperty("device").GetString() == "lab-reboot"));

        // Changes work again; the rebooted machine keeps writing on its written-back session.
        await site.Cli.OkAsync("device", "add", "52:54:00:fa:20:09", "--name", "lab-late");
        await again.RunAsync("echo after-outage > /root/mark3 && sync");
        var after = await LastAsync(streaming);
        Assert.True(after > stillDuring, $"the writing machine stopped after the outage: {stillDuring} then {after}");
        foreach (var vm in new[] { streaming, again })
        {
            var log = await vm.RunAsync("dmesg");
            Assert.DoesNotContain("I/O error", log, StringComparison.Ordinal);
            Assert.DoesNotContain("EXT4-fs error", log, StringComparison.Ordinal);
        }

        // The write cache of the outage boot holds what it flushed: a power cycle later it is all there.
        await again.PowerOffAsync();
        var third = await site.StartVmAsync(Rebooting);
        await TestOs.WaitUpAsync(third, TimeSpan.FromMinutes(5));
        Assert.Equal("before-outage\nduring-outage\nafter-outage\n", await third.RunAsync("cat /root/mark /root/mark2 /root/mark3"));
        await streaming.RunAsync("touch /root/stop");
    }

    private static async Task<int> LastAsync(QemuVm vm) =>
        int.Parse((await vm.RunAsync("cat /root/last", TimeSpan.FromMinutes(2))).Trim(), CultureInfo.InvariantCulture);

    private static async Task<string> Curl(string client, string url)
    {
        var result = await ProcessRunner.RunAsync("ip", ["netns", "exec", client, "curl", "-s", url]);
        Assert.True(result.ExitCode == 0, $"curl {url}: {result}");
        return result.Stdout;
    }
}
