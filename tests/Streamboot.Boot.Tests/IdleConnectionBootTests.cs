using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// The server closes an NBD connection that sat idle (<c>--nbd-idle-timeout</c>)
/// under a running diskless client: client/linux's streamboot-nbd sees the
/// close, connects again and hands the kernel the new socket, and the root
/// file system never notices.
/// </summary>
public sealed class IdleConnectionBootTests(ITestOutputHelper output)
{
    private const string Mac = "52:54:00:5b:70:01";

    [Fact]
    public async Task A_client_whose_idle_connection_is_closed_reconnects_and_carries_on()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "std", "", "--write-cache", "server-disk");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "lab-idle");
        await site.Cli.OkAsync("assign", "lab-idle", "std");
        await site.StartServerAsync(["--nbd-idle-timeout", "4"]);
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync(Mac);
        await TestOs.WaitUpAsync(vm);
        // Kernel messages off the console (they would interleave with command output); read at the end.
        await vm.RunAsync("dmesg -n 1");
        await vm.RunAsync("echo written-before-idle > /root/before && sync");

        // The client does nothing; the server closes its connection, and streamboot-nbd connects again.
        await site.Server!.WaitForOutputAsync("with nothing in flight, closing", TimeSpan.FromMinutes(1));
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!(await vm.RunAsync("dmesg")).Contains("streamboot-nbd: /dev/nbd0: reconnected to", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no reconnect after the idle close:\n{await vm.RunAsync("dmesg | tail -20")}");
            await Task.Delay(500);
        }

        // Reads the page cache no longer has, and a synced write: both need the server.
        Assert.Equal("ok\n", await vm.RunAsync("echo 3 > /proc/sys/vm/drop_caches; md5sum /bin/busybox >/dev/null && echo written-after-idle > /root/after && sync && echo ok", TimeSpan.FromMinutes(1)));
        Assert.Equal("written-before-idle\nwritten-after-idle\n", await vm.RunAsync("echo 3 > /proc/sys/vm/drop_caches; cat /root/before /root/after"));

        var log = await vm.RunAsync("dmesg");
        output.WriteLine(string.Join('\n', log.Split('\n').Where(l => l.Contains("nbd", StringComparison.Ordinal))));
        Assert.DoesNotContain("I/O error", log, StringComparison.Ordinal);
        Assert.DoesNotContain("EXT4-fs error", log, StringComparison.Ordinal);
        Assert.NotNull(await TestOs.LiveSessionAsync(site, "lab-idle"));
    }
}
