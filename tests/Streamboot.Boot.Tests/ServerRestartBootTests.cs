using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The server goes away under a running diskless client, gracefully
/// (systemctl restart) and by a crash (SIGKILL): the client's I/O waits,
/// its disk reconnects when the server is back, and nothing it flushed is
/// lost. The client side is client/linux's streamboot-nbd.
/// </summary>
public sealed class ServerRestartBootTests(ITestOutputHelper output)
{
    private const string Mac = "52:54:00:5b:60:01";

    [Fact]
    public async Task A_running_client_stalls_while_the_server_restarts_then_carries_on_with_every_flushed_write()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "std", "", "--write-cache", "server-disk");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "lab-restart");
        await site.Cli.OkAsync("assign", "lab-restart", "std");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync(Mac);
        var up = await TestOs.WaitUpAsync(vm);
        Assert.Equal("server-disk", up["cache"]);
        // The connection keeper stayed resident through switch_root (argv[0] marked '@' for systemd).
        Assert.Equal("1\n", await vm.RunAsync("for p in /proc/[0-9]*; do tr '\\0' ' ' <$p/cmdline; echo; done 2>/dev/null | grep -c '^@treamboot-nbd .* std/lab-restart /dev/nbd0'"));

        // Written and flushed before the server goes: must survive both restarts.
        await vm.RunAsync("echo flushed-before-restart > /root/before && sync");
        var busybox = await vm.RunAsync("md5sum /bin/busybox | cut -d' ' -f1");

        // 1. systemctl restart: SIGTERM, and the client writes while the server is down.
        var marker = "IO-AFTER-RESTART";
        await site.RestartServerAsync(whileDown: async () =>
        {
            // The typed command needs the server (a synced write, and reads
            // of what the page cache no longer has): it cannot finish until
            // the server is back.
            await vm.SendLineAsync(
                "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/urandom of=/root/during bs=64k count=32 2>/dev/null && sync && " +
                "md5sum /root/during > /root/during.md5 && sync && echo \"IO-AFTER-\"\"RESTART $(md5sum </bin/busybox | cut -d' ' -f1)\"");
            await Task.Delay(TimeSpan.FromSeconds(5));
            Assert.DoesNotContain(marker, vm.Console, StringComparison.Ordinal);
        });
        var after = (await vm.WaitForLineAsync(marker, TimeSpan.FromMinutes(2))).Trim();
        Assert.Equal(busybox.Trim(), after);
        // From here the kernel's messages stay off the console (they would
        // interleave with command output); the kernel log is read at the end.
        await vm.RunAsync("dmesg -n 1");
        Assert.NotNull(await TestOs.LiveSessionAsync(site, "lab-restart"));

        // 2. A crash: SIGKILL, nothing of the server runs after it.
        await vm.RunAsync("echo flushed-before-crash > /root/crash && sync");
        await site.RestartServerAsync(crash: true, whileDown: async () =>
        {
            await vm.SendLineAsync("echo written-while-crashed > /root/crashed && sync && echo \"IO-AFTER-\"\"CRASH\"");
            await Task.Delay(TimeSpan.FromSeconds(5));
            Assert.DoesNotContain("IO-AFTER-CRASH", vm.Console, StringComparison.Ordinal);
        });
        await vm.WaitForAsync("IO-AFTER-CRASH", TimeSpan.FromMinutes(2));
        Assert.Equal("ok\n", await vm.RunAsync("echo 3 > /proc/sys/vm/drop_caches; md5sum -c /root/during.md5 >/dev/null && echo ok", TimeSpan.FromMinutes(2)));
        Assert.Equal("flushed-before-restart\nflushed-before-crash\nwritten-while-crashed\n", await vm.RunAsync("cat /root/before /root/crash /root/crashed"));
        await vm.RunAsync("echo written-after-crash > /root/later && sync", TimeSpan.FromMinutes(2));
        Assert.Equal("written-after-crash\n", await vm.RunAsync("echo 3 > /proc/sys/vm/drop_caches; cat /root/later"));

        // The kernel log: each outage ended in a reconnect by streamboot-nbd,
        // and nothing above the disk ever saw an error.
        var log = await vm.RunAsync("dmesg");
        output.WriteLine(string.Join('\n', log.Split('\n').Where(l => l.Contains("nbd", StringComparison.Ordinal))));
        Assert.Equal(2, log.Split('\n').Count(l => l.Contains("streamboot-nbd: /dev/nbd0: reconnected to", StringComparison.Ordinal)));
        Assert.False(log.Contains("I/O error", StringComparison.Ordinal), IoErrors(log));
        Assert.DoesNotContain("EXT4-fs error", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Buffer I/O", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_ram_client_whose_cache_died_with_the_server_gets_errors_not_a_silently_different_disk()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "ram", "", "--write-cache", "server-ram");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:60:02", "--name", "lab-ram");
        await site.Cli.OkAsync("assign", "lab-ram", "ram");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync("52:54:00:5b:60:02");
        var up = await TestOs.WaitUpAsync(vm);
        Assert.Equal("server-ram", up["cache"]);
        await vm.RunAsync("echo in-ram > /root/ram && sync");

        await site.RestartServerAsync();
        // The boot's RAM cache is gone: the server refuses the reconnect and
        // streamboot-nbd, refused for 30 s, disconnects, so I/O fails.
        await vm.SendLineAsync("echo 3 > /proc/sys/vm/drop_caches; cat /root/ram; echo \"CAT-\"\"DONE\"");
        await vm.WaitForAsync("CAT-DONE", TimeSpan.FromMinutes(3));
        await site.Server!.WaitForOutputAsync("its server-RAM write cache was lost when the server restarted", TimeSpan.FromSeconds(10));
        var console = vm.Console;
        Assert.DoesNotContain("in-ram\nCAT-DONE", console, StringComparison.Ordinal);
        // The kernel's and streamboot-nbd's messages are on the console (the
        // root is gone: no program can be loaded from it to ask dmesg).
        await vm.WaitForAsync("disconnecting (I/O on /dev/nbd0 fails from now)", TimeSpan.FromSeconds(30));
        output.WriteLine(string.Join('\n', vm.Console.Split('\n').Where(l => l.Contains("streamboot-nbd", StringComparison.Ordinal) || l.Contains("I/O error", StringComparison.Ordinal)).Take(8)));
        Assert.Contains("the server has refused export ram/lab-ram for 30 s; disconnecting", vm.Console, StringComparison.Ordinal);
        Assert.Contains("I/O error", vm.Console, StringComparison.Ordinal);
        Assert.Null(await TestOs.LiveSessionAsync(site, "lab-ram"));
    }

    private static string IoErrors(string console) =>
        string.Join('\n', console.Split('\n').Where(l => l.Contains("I/O error", StringComparison.Ordinal)));
}
