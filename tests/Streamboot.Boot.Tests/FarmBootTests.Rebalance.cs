using System.Diagnostics;
using System.Globalization;
using Streamboot.Testing;

namespace Streamboot.Boot.Tests;

/// <summary>Rebalancing: a live client moved off its server carries on through another one, without an error.</summary>
public sealed partial class FarmBootTests
{
    [Fact]
    public async Task Rebalance_moves_a_running_vm_off_an_overloaded_server_without_an_io_error_and_leaves_server_ram_clients_where_they_are()
    {
        const string Mac = "52:54:00:fa:20:01";
        // The CLI's plan counts a client as booting for 5 s after its boot started (90 by default).
        await using var site = await FarmSiteAsync(new() { ["STREAMBOOT_BOOTING_SECONDS"] = "5" });
        await TestOs.ImportAsync(site, "std", "", "--write-cache", "server-disk");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "lab-move", "--persistent-write-cache", "true");
        await site.Cli.OkAsync("assign", "lab-move", "std");
        // Clients whose write cache lives in their server's RAM: they must never move.
        await site.Cli.OkAsync("vdisk", "create", "ramgold", "--size", "64M", "--format", "qcow2", "--write-cache", "server-ram");
        await site.Cli.OkAsync("collection", "add", "held", "--pattern", "H-##", "--policy", "auto-register", "--default-vdisk", "ramgold", "--receives-unknown");
        await StartFarmAsync(site, [], "a", "b", "c");
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync(Mac);
        await TestOs.WaitUpAsync(vm);
        Assert.Equal("a", await SessionServerAsync(site, "lab-move"));

        // Three server-RAM clients open their disks on a too (a boot's key is the farm's: any server takes it).
        var client = await site.Network.AddHostAsync($"{site.Network.Prefix}.9");
        for (var i = 1; i <= 3; i++)
        {
            var boot = await BootScriptAsync(client, site.BaseUrl, $"52:54:00:fa:21:{i:x2}");
            var url = $"nbd://{site.Network.ServerAddress}:{BootSite.NbdPort}/{Uri.EscapeDataString(boot.View)}";
            var held = await ProcessRunner.RunAsync("ip", ["netns", "exec", client, "sh", "-c", $"PATH=/usr/bin:/bin:$PATH setsid timeout 600 nbdsh -u '{url}' -c 'import time; time.sleep(600)' >/dev/null 2>/tmp/held-{i}.log &"]);
            Assert.True(held.ExitCode == 0, held.ToString());
        }

        Assert.True(await WaitForAsync(async () => (await SessionsByServerAsync(site, live: true)).GetValueOrDefault("a") == 4, TimeSpan.FromSeconds(30)), "a never held the vm and three server-RAM clients: " + string.Join(" | ", Enumerable.Range(1, 3).Select(i => File.Exists($"/tmp/held-{i}.log") ? File.ReadAllText($"/tmp/held-{i}.log") : "")));

        // The guest writes, syncs and time-stamps a numbered file every 0.3 s throughout.
        await vm.RunAsync("dmesg -n 1; (i=0; while [ ! -e /root/stop ]; do i=$((i+1)); echo $i > /root/n.$i; echo $i > /root/last; cut -d' ' -f1 /proc/uptime >> /root/times; sync; sleep 0.3; done) >/dev/null 2>&1 & true");
        await Task.Delay(TimeSpan.FromSeconds(6)); // every client is past its booting window
        await WaitForFirstWriteAsync(vm, site);

        // a holds 4 of 4 (its share is 1.3): two should go, but only the vm can.
        var dry = await site.Cli.JsonAsync("server", "rebalance", "--dry-run");
        var planned = dry.GetProperty("moves").EnumerateArray().Select(m => $"{m.GetProperty("device").GetString()}@{m.GetProperty("server").GetString()}").ToList();
        Assert.Equal(["lab-move@a"], planned);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal("a", await SessionServerAsync(site, "lab-move"));

        var before = int.Parse((await vm.RunAsync("cat /root/last")).Trim(), CultureInfo.InvariantCulture);
        var text = (await site.Cli.OkAsync("server", "rebalance")).Stdout;
        Assert.Contains("Moving lab-move from a to another server", text, StringComparison.Ordinal);
        var clock = Stopwatch.StartNew();
        string? now = "a";
        Assert.True(await WaitForAsync(async () => (now = await SessionServerAsync(site, "lab-move")) is "b" or "c", TimeSpan.FromSeconds(60)), $"the session did not move to b or c (it is on {now ?? "no server"})");
        output.WriteLine($"moved to {now} {clock.Elapsed.TotalSeconds:0.0} s after 'server rebalance'");

        await Task.Delay(TimeSpan.FromSeconds(3));
        var later = int.Parse((await vm.RunAsync("cat /root/last", TimeSpan.FromMinutes(1))).Trim(), CultureInfo.InvariantCulture);
        Assert.True(later > before, $"the loop stopped: {before} before, {later} after the move");
        Assert.Equal(3, (await SessionsByServerAsync(site, live: true)).GetValueOrDefault("a"));
        Assert.Contains("moved off this server (server rebalance)", site.Server!.Output, StringComparison.Ordinal);

        var log = await vm.RunAsync("dmesg");
        output.WriteLine(string.Join('\n', log.Split('\n').Where(l => l.Contains("nbd", StringComparison.Ordinal))));
        Assert.Contains("streamboot-nbd: /dev/nbd0: reconnected to", log, StringComparison.Ordinal);
        Assert.DoesNotContain("I/O error", log, StringComparison.Ordinal);
        Assert.DoesNotContain("EXT4-fs error", log, StringComparison.Ordinal);

        // Everything the loop flushed, read back from the disk (not the page cache) through the new server.
        await vm.RunAsync("touch /root/stop; sleep 1; sync; echo 3 > /proc/sys/vm/drop_caches");
        var last = int.Parse((await vm.RunAsync("cat /root/last")).Trim(), CultureInfo.InvariantCulture);
        Assert.Equal("ok\n", await vm.RunAsync($"i=1; while [ $i -le {last} ]; do [ \"$(cat /root/n.$i)\" = $i ] || exit 1; i=$((i+1)); done; echo ok"));
        var stamps = (await vm.RunAsync("cat /root/times")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => double.Parse(l.Trim(), CultureInfo.InvariantCulture)).ToList();
        var pause = stamps.Zip(stamps.Skip(1), (x, y) => y - x).Max();
        output.WriteLine($"{last} files written and synced; the longest gap between two (normally 0.3 s plus a sync) was {pause:0.00} s");
        Assert.Equal(last, stamps.Count);
    }

    /// <summary>
    /// Waits for the guest loop's first file. What the guest and server a were doing
    /// goes to the test output when it takes longer than a few seconds: that
    /// file's absence failed full runs, and only the guest's view of its NBD disk
    /// (requests in flight) and the server's log can say whether a request stalled.
    /// </summary>
    private async Task WaitForFirstWriteAsync(QemuVm vm, BootSite site)
    {
        var clock = Stopwatch.StartNew();
        string? report = null;
        while (true)
        {
            // Nothing here touches the root file system but the test itself.
            var seen = await vm.RunAsync("[ -e /root/last ] && echo yes || echo no", TimeSpan.FromMinutes(2));
            if (seen.Trim() == "yes")
            {
                output.WriteLine($"the guest loop's first file was there {clock.Elapsed.TotalSeconds:0.0} s after the 6 s wait");
                return;
            }

            if (report is null && clock.Elapsed > TimeSpan.FromSeconds(2))
            {
                var guest = await vm.RunAsync("cat /proc/loadavg; echo inflight: $(cat /sys/block/nbd0/inflight); ps; dmesg | tail -n 20", TimeSpan.FromMinutes(1), check: false);
                var server = site.Server!.Output.Split('\n');
                report = $"no first file {clock.Elapsed.TotalSeconds:0.0} s after the 6 s wait; the guest:\n{guest}\nserver a's last lines:\n{string.Join('\n', server.TakeLast(40))}";
                output.WriteLine(report);
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the guest loop wrote no file in 66 s; {report}");
            await Task.Delay(500);
        }
    }

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(1000);
        }

        return false;
    }
}
