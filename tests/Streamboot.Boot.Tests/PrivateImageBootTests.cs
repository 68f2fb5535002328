using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>A private image: one client owns the vDisk and its writes go into it, so they outlive a reboot.</summary>
public sealed class PrivateImageBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_file_written_on_a_private_image_survives_a_reboot()
    {
        await using var site = await BootSite.CreateAsync();
        // This one connects its root with Debian's nbd-client (the kernel
        // NBD peer of the NBD suite); the others use streamboot-nbd.
        await TestOs.ImportAsync(site, "mine", "streamboot.nbdclient=nbd-client", "--access", "private", "--write-cache", "none");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:50:01", "--name", "owner1");
        await site.Cli.OkAsync("assign", "owner1", "mine");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync("52:54:00:5b:50:01");
        var up = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"QEMU start to test OS: {up.Seconds:F1} s ({up.Line})");
        Assert.Equal("none", up["cache"]);
        Assert.Contains("connecting with nbd-client: no reconnect after a server restart", vm.Console, StringComparison.Ordinal);
        Assert.Equal("1\n", await vm.RunAsync("for p in /proc/[0-9]*; do tr '\\0' ' ' <$p/cmdline; echo; done 2>/dev/null | grep -c '^@bd-client '"));
        await vm.RunAsync("echo kept-across-boots > /root/keep && sync");
        await vm.SendLineAsync("reboot");
        await vm.WaitForExitAsync(TimeSpan.FromMinutes(1));

        var again = await site.StartVmAsync("52:54:00:5b:50:01");
        await TestOs.WaitUpAsync(again);
        Assert.Equal("kept-across-boots\n", await again.RunAsync("cat /root/keep"));
    }
}
