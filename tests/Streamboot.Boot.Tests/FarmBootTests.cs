using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// A farm: three <c>streamboot serve</c> on one real PostgreSQL database and
/// one shared store folder, each on its own host of one boot network
/// (namespaces on a bridge). New boots are placed by load per weight, a
/// drained server gets none, a full farm makes clients wait their turn, and
/// a diskless VM whose server is killed carries on on another one.
/// </summary>
public sealed partial class FarmBootTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string?> FastFarm = new()
    {
        ["STREAMBOOT_HEARTBEAT_SECONDS"] = "1",
        ["STREAMBOOT_SERVER_DOWN_SECONDS"] = "6",
        ["STREAMBOOT_ISCSI_PORT"] = "0",
    };

    [Fact]
    public async Task Forty_boots_split_by_weight_one_one_two_and_a_drained_server_gets_none()
    {
        await using var site = await FarmSiteAsync();
        await site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M", "--format", "qcow2");
        var hosts = await StartFarmAsync(site, [], "a", "b", "c");
        await site.Cli.OkAsync("server", "set", "c", "--weight", "2");
        var client = await site.Network.AddHostAsync($"{site.Network.Prefix}.9");
        // Machines register themselves at their first boot script (the collection's policy), as in a storm of new ones.
        await site.Cli.OkAsync("collection", "add", "farm", "--pattern", "PC-###", "--policy", "auto-register", "--default-vdisk", "gold", "--receives-unknown");
        var devices = Enumerable.Range(1, 52).Select(i => (Name: "", Mac: $"52:54:00:fa:00:{i:x2}")).ToList();

        // A boot storm of 40: every script first (all of them booting at once), then every disk opened
        // on the server its script named, with its boot's key: that server accepts a key another issued.
        var placed = new List<Placed>();
        foreach (var (_, mac) in devices.Take(40))
        {
            placed.Add(await BootScriptAsync(client, site.BaseUrl, mac));
        }

        foreach (var boot in placed)
        {
            var info = await ProcessRunner.RunAsync("ip", ["netns", "exec", client, "nbdinfo", "--size", $"nbd://{boot.Host}:{BootSite.NbdPort}/{Uri.EscapeDataString(boot.View)}"]);
            Assert.True(info.ExitCode == 0, $"nbdinfo of {boot.View} on {boot.Host}: {info}");
            Assert.Equal((64L << 20).ToString(CultureInfo.InvariantCulture), info.Stdout.Trim());
        }

        var split = await SessionsByServerAsync(site);
        output.WriteLine($"40 boots: {string.Join(", ", split.Select(p => $"{p.Key} {p.Value}"))}");
        Assert.InRange(split.GetValueOrDefault("a"), 8, 12);
        Assert.InRange(split.GetValueOrDefault("b"), 8, 12);
        Assert.InRange(split.GetValueOrDefault("c"), 16, 24);
        // Each script named the server whose disk it then opened.
        foreach (var boot in placed)
        {
            Assert.Equal(hosts[boot.Host], await SessionServerAsync(site, boot.Device));
        }

        await site.Cli.OkAsync("server", "drain", "b");
        var list = await site.Cli.JsonAsync("server", "list");
        Assert.Contains(list.EnumerateArray(), s => s.GetProperty("name").GetString() == "b" && !s.GetProperty("enabled").GetBoolean());
        var after = new Dictionary<string, int>();
        foreach (var (_, mac) in devices.Skip(40))
        {
            var boot = await BootScriptAsync(client, site.BaseUrl, mac);
            after[hosts[boot.Host]] = after.GetValueOrDefault(hosts[boot.Host]) + 1;
        }

        output.WriteLine($"12 boots with b drained: {string.Join(", ", after.Select(p => $"{p.Key} {p.Value}"))}");
        Assert.False(after.ContainsKey("b"), "a drained server was given new boots");
        Assert.Equal(12, after.Values.Sum());
        Assert.True(after.GetValueOrDefault("c") > after.GetValueOrDefault("a"), "weight 2 took fewer boots than weight 1");

        await site.Cli.OkAsync("server", "enable", "b");
        var again = await BootScriptAsync(client, site.BaseUrl, devices[0].Mac);
        Assert.Equal("b", hosts[again.Host]);
    }

    [Fact]
    public async Task Beyond_each_servers_limit_of_clients_booting_boots_wait_their_turn_and_then_boot()
    {
        await using var site = await FarmSiteAsync(new() { ["STREAMBOOT_BOOTING_SECONDS"] = "6" });
        await site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M", "--format", "qcow2");
        var hosts = await StartFarmAsync(site, ["--max-booting", "2"], "a", "b");
        var client = await site.Network.AddHostAsync($"{site.Network.Prefix}.9");
        await site.Cli.OkAsync("collection", "add", "farm", "--pattern", "Q-##", "--policy", "auto-register", "--default-vdisk", "gold", "--receives-unknown");

        var booted = new List<Placed>();
        for (var i = 1; i <= 4; i++)
        {
            booted.Add(await BootScriptAsync(client, site.BaseUrl, $"52:54:00:fb:00:{i:x2}"));
        }

        Assert.Equal(2, booted.Count(b => hosts[b.Host] == "a"));
        Assert.Equal(2, booted.Count(b => hosts[b.Host] == "b"));

        // Both servers boot 2 now: the fifth and sixth wait, asking the same server again.
        var fifth = await ScriptAsync(client, $"{site.BaseUrl}/boot.ipxe?mac=52:54:00:fb:00:05");
        var sixth = await ScriptAsync(client, $"{site.BaseUrl}/boot.ipxe?mac=52:54:00:fb:00:06");
        Assert.Contains("waits its turn (0 ahead of it)", fifth, StringComparison.Ordinal);
        Assert.Contains("waits its turn (1 ahead of it)", sixth, StringComparison.Ordinal);
        Assert.Contains($"chain --replace --autofree {site.BaseUrl}/boot.ipxe?mac=52:54:00:fb:00:05", fifth, StringComparison.Ordinal);
        // Waiting its turn, it asks again sooner than a refused client (slots free as boots finish).
        Assert.Contains("sleep 5\n", fifth.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("sanboot", fifth, StringComparison.Ordinal);
        Assert.Contains("waits: every server is at its limit", site.Server!.Output, StringComparison.Ordinal);

        // The first boots leave the booting window: the waiting ones boot, the fifth first.
        Assert.True(await BootsWithinAsync(client, site.BaseUrl, "52:54:00:fb:00:05", TimeSpan.FromSeconds(60)), "the fifth never booted");
        Assert.True(await BootsWithinAsync(client, site.BaseUrl, "52:54:00:fb:00:06", TimeSpan.FromSeconds(60)), "the sixth never booted");
    }

    /// <summary>Asks for the client's script every second, as iPXE's retry does, until it is told to boot.</summary>
    private static async Task<bool> BootsWithinAsync(string client, string baseUrl, string mac, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if ((await ScriptAsync(client, $"{baseUrl}/boot.ipxe?mac={mac}")).Contains("sanboot", StringComparison.Ordinal))
            {
                return true;
            }

            await Task.Delay(1000);
        }

        return false;
    }

    [Fact]
    public async Task Registrations_and_boots_racing_on_two_servers_give_no_name_twice_and_no_identity_two_live_sessions()
    {
        await using var site = await FarmSiteAsync();
        await site.Cli.OkAsync("vdisk", "create", "gold", "--size", "64M", "--format", "qcow2");
        await site.Cli.OkAsync("collection", "add", "farm", "--pattern", "R-###", "--policy", "auto-register", "--default-vdisk", "gold", "--receives-unknown");
        var hosts = await StartFarmAsync(site, [], "a", "b");
        var b = hosts.Single(h => h.Value == "b").Key;
        var one = await site.Network.AddHostAsync($"{site.Network.Prefix}.9");
        var two = await site.Network.AddHostAsync($"{site.Network.Prefix}.10");

        // 30 new machines, each asking both servers at the same moment (a PXE client answered twice).
        var macs = Enumerable.Range(1, 30).Select(i => $"52:54:00:fc:00:{i:x2}").ToList();
        await Task.WhenAll(macs.SelectMany(mac => new[]
        {
            ScriptAsync(one, $"{site.BaseUrl}/boot.ipxe?mac={mac}"),
            ScriptAsync(one, $"http://{b}:{BootSite.HttpPort}/boot.ipxe?mac={mac}"),
        }));
        var devices = (await site.Cli.JsonAsync("device", "list")).EnumerateArray()
            .Select(d => (Name: d.GetProperty("name").GetString()!, Mac: d.GetProperty("mac").GetString()!)).ToList();
        Assert.Equal(30, devices.Count);
        Assert.Equal(30, devices.Select(d => d.Name.ToLowerInvariant()).Distinct().Count());
        Assert.Equal(macs.Order(), devices.Select(d => d.Mac).Order());

        // Two machines claiming one identity, each with a boot of its own from its own server: while
        // the first streams from a, the second is refused by b, and the identity has one live session.
        var first = await BootScriptAsync(one, site.BaseUrl, macs[0]);
        var second = await BootScriptAsync(two, $"http://{b}:{BootSite.HttpPort}", macs[0]);
        // The first machine holds its disk until the test lets it go (a file appears).
        var release = site.Folder.Combine("release-holder");
        // nbdsh runs the first python3 on PATH: Debian's, whose module it is (env puts /usr/bin first).
        var holder = ProcessRunner.RunAsync("ip", ["netns", "exec", one, "env", $"PATH=/usr/bin:/bin:{Environment.GetEnvironmentVariable("PATH")}", "nbdsh", "-u", $"nbd://{site.Network.ServerAddress}:{BootSite.NbdPort}/{Uri.EscapeDataString(first.View)}", "-c", $"import os, time\nwhile not os.path.exists('{release}'): time.sleep(0.1)\nprint(h.get_size())"]);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (await TestOs.LiveSessionAsync(site, first.Device) is null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }

            Assert.True(await TestOs.LiveSessionAsync(site, first.Device) is not null, $"the first machine's session did not start:\n{site.Server!.Output}");
            var intruder = await ProcessRunner.RunAsync("ip", ["netns", "exec", two, "nbdinfo", "--size", $"nbd://{b}:{BootSite.NbdPort}/{Uri.EscapeDataString(second.View)}"]);
            Assert.True(intruder.ExitCode != 0, $"a second machine opened {first.Device}'s disk on b while the first streamed it from a: {intruder}");
            var live = (await site.Cli.JsonAsync("session", "list")).EnumerateArray().Where(s => s.GetProperty("device").GetString() == first.Device).ToList();
            Assert.Single(live);
            Assert.Equal("a", live[0].GetProperty("server").GetString());
        }
        finally
        {
            await File.WriteAllTextAsync(release, "");
        }

        var held = await holder;
        Assert.True(held.ExitCode == 0, $"the first machine lost its disk: {held}");
    }

    [Fact]
    public async Task A_diskless_vm_whose_server_is_killed_keeps_writing_through_another_server_and_loses_nothing_it_flushed()
    {
        const string Mac = "52:54:00:fa:10:01";
        await using var site = await FarmSiteAsync();
        await TestOs.ImportAsync(site, "std", "", "--write-cache", "server-disk");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "lab-farm", "--persistent-write-cache", "true");
        await site.Cli.OkAsync("assign", "lab-farm", "std");
        var hosts = await StartFarmAsync(site, [], "a", "b", "c");
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync(Mac);
        await TestOs.WaitUpAsync(vm);
        var cmdline = await vm.RunAsync("cat /proc/cmdline");
        // A placed the boot on itself (least loaded, ties kept here); the others may continue it.
        Assert.Matches($@"streamboot\.servers=({Regex.Escape(site.Network.Prefix)}\.[34]:{BootSite.NbdPort},?){{2}}", cmdline);
        Assert.Equal("a", await SessionServerAsync(site, "lab-farm"));

        // A loop in the guest that writes and syncs a numbered file every few tenths of a second.
        await vm.RunAsync("dmesg -n 1; (i=0; while [ ! -e /root/stop ]; do i=$((i+1)); echo $i > /root/n.$i; echo $i > /root/last; sync; sleep 0.3; done) >/dev/null 2>&1 & true");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var before = int.Parse((await vm.RunAsync("cat /root/last")).Trim(), CultureInfo.InvariantCulture);
        Assert.True(before > 0);

        await site.CrashServerAsync();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        string? now = "a";
        while (DateTime.UtcNow < deadline)
        {
            now = await SessionServerAsync(site, "lab-farm");
            if (now is "b" or "c")
            {
                break;
            }

            await Task.Delay(1000);
        }

        Assert.True(now is "b" or "c", $"the session did not move to b or c (it is on {now ?? "no server"})");
        var during = int.Parse((await vm.RunAsync("cat /root/last", TimeSpan.FromMinutes(2))).Trim(), CultureInfo.InvariantCulture);
        await Task.Delay(TimeSpan.FromSeconds(3));
        var later = int.Parse((await vm.RunAsync("cat /root/last")).Trim(), CultureInfo.InvariantCulture);
        output.WriteLine($"the loop was at {before} before the kill, {during} after failover to {now}, {later} three seconds on");
        Assert.True(later > during && during > before, $"the loop did not keep going: {before}, {during}, {later}");

        var log = await vm.RunAsync("dmesg");
        output.WriteLine(string.Join('\n', log.Split('\n').Where(l => l.Contains("nbd", StringComparison.Ordinal))));
        Assert.Contains("streamboot-nbd: /dev/nbd0: reconnected to", log, StringComparison.Ordinal);
        Assert.DoesNotContain("I/O error", log, StringComparison.Ordinal);
        Assert.DoesNotContain("EXT4-fs error", log, StringComparison.Ordinal);

        // Stop the loop; what it flushed is the truth the next boot must see.
        await vm.RunAsync("touch /root/stop; sleep 1; sync");
        var last = int.Parse((await vm.RunAsync("cat /root/last")).Trim(), CultureInfo.InvariantCulture);
        await vm.PowerOffAsync();

        // The restarted machine boots again (its DHCP still names a, which is back) on its persistent write cache.
        await site.StartServerAsync(["--server-name", "a"], FastFarm);
        var again = await site.StartVmAsync(Mac);
        await TestOs.WaitUpAsync(again, TimeSpan.FromMinutes(5));
        Assert.Equal(last.ToString(CultureInfo.InvariantCulture), (await again.RunAsync("cat /root/last")).Trim());
        Assert.Equal(last.ToString(CultureInfo.InvariantCulture), (await again.RunAsync("ls /root/n.* | wc -l")).Trim());
        Assert.Equal("ok\n", await again.RunAsync($"i=1; while [ $i -le {last} ]; do [ \"$(cat /root/n.$i)\" = $i ] || exit 1; i=$((i+1)); done; echo ok"));
        _ = hosts;
    }

    private static async Task<BootSite> FarmSiteAsync(Dictionary<string, string?>? extra = null)
    {
        var site = await BootSite.CreateAsync();
        var postgres = await PostgresCluster.SharedAsync();
        var database = await postgres.CreateDatabaseAsync();
        // Through its Unix socket: the servers run in the boot network's namespaces, where 127.0.0.1 is theirs.
        site.Cli.Environment["STREAMBOOT_DB"] = postgres.SocketConnectionString(PostgresCluster.DatabaseOf(database.ConnectionString));
        foreach (var (key, value) in FastFarm.Concat(extra ?? []))
        {
            site.Cli.Environment[key] = value;
        }

        return site;
    }

    /// <summary>Server a on the boot network's first host, the others on .3, .4, ...; returns host address to server name.</summary>
    private static async Task<Dictionary<string, string>> StartFarmAsync(BootSite site, string[] flags, params string[] names)
    {
        var hosts = new Dictionary<string, string> { [site.Network.ServerAddress] = names[0] };
        await site.StartServerAsync(["--server-name", names[0], .. flags], FastFarm);
        for (var i = 1; i < names.Length; i++)
        {
            var address = $"{site.Network.Prefix}.{i + 2}";
            await site.StartOtherServerAsync(address, names[i], flags, FastFarm);
            hosts[address] = names[i];
        }

        var servers = await site.Cli.JsonAsync("server", "list");
        Assert.Equal(names.Length, servers.EnumerateArray().Count(s => s.GetProperty("state").GetString() == "running"));
        return hosts;
    }

    private sealed record Placed(string Device, string Host, string View);

    /// <summary>One client's boot script, as iPXE asks it; where its disk is and under which view.</summary>
    private static async Task<Placed> BootScriptAsync(string client, string baseUrl, string mac)
    {
        var script = await ScriptAsync(client, $"{baseUrl}/boot.ipxe?mac={mac}");
        var match = SanbootUrl().Match(script);
        Assert.True(match.Success, $"no sanboot in the script for {mac}:\n{script}");
        return new Placed(Uri.UnescapeDataString(match.Groups["device"].Value), match.Groups["host"].Value, $"{Uri.UnescapeDataString(match.Groups["vdisk"].Value)}/{Uri.UnescapeDataString(match.Groups["device"].Value)}/{match.Groups["key"].Value}");
    }

    private static async Task<string> ScriptAsync(string client, string url)
    {
        var result = await ProcessRunner.RunAsync("ip", ["netns", "exec", client, "curl", "-sf", url]);
        Assert.True(result.ExitCode == 0, $"curl {url}: {result}");
        return result.Stdout;
    }

    private static async Task<Dictionary<string, int>> SessionsByServerAsync(BootSite site, bool live = false)
    {
        var sessions = await site.Cli.JsonAsync("session", "list", "--all");
        return sessions.EnumerateArray()
            .Where(s => s.GetProperty("device").ValueKind == JsonValueKind.String)
            .Where(s => !live || s.GetProperty("endedAt").ValueKind == JsonValueKind.Null)
            .GroupBy(s => s.GetProperty("server").GetString() ?? "")
            .ToDictionary(g => g.Key, g => g.Count());
    }

    /// <summary>The server of the device's live session, or of its newest one.</summary>
    private static async Task<string?> SessionServerAsync(BootSite site, string device)
    {
        var live = await TestOs.LiveSessionAsync(site, device);
        if (live is { } session)
        {
            return session.GetProperty("server").GetString();
        }

        var all = await site.Cli.JsonAsync("session", "list", "--all");
        return all.EnumerateArray().Where(s => s.GetProperty("device").GetString() == device)
            .OrderByDescending(s => s.GetProperty("id").GetInt64()).Select(s => s.GetProperty("server").GetString()).FirstOrDefault();
    }

    [GeneratedRegex(@"sanboot --drive 0x80 http://(?<host>[0-9.]+):\d+/vdisk/(?<vdisk>[^/\s]+)/(?<device>[^/\s]+)/(?<key>[0-9a-f]{32})")]
    private static partial Regex SanbootUrl();
}
