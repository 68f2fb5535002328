using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// NBD over TLS to a kernel NBD device: Debian's nbd-client (GnuTLS, its
/// -x/-A/-H options) inside a booted test OS connects a second device to
/// the vDisk's read-only view through TLS, trusting the site CA that
/// <c>streamboot serve</c> made at its first start, and the kernel reads
/// through it what the streamed root's own device reads.
/// </summary>
public sealed class NbdTlsBootTests(ITestOutputHelper output)
{
    private const string Mac = "52:54:00:5b:71:01";

    [Fact]
    public async Task Debian_nbd_client_in_a_guest_reads_the_vdisk_through_tls()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "std", "", "--write-cache", "server-disk");
        await site.Cli.OkAsync("device", "add", Mac, "--name", "lab-tls");
        await site.Cli.OkAsync("assign", "lab-tls", "std");
        await site.StartServerAsync(["--tls", "on"]);
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync(Mac);
        await TestOs.WaitUpAsync(vm);
        await vm.RunAsync("dmesg -n 1");

        // The site CA, made in the data folder at the server's first start, is what a client trusts.
        var ca = Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(site.Cli.DataFolder, "tls", "ca-cert.pem")));
        await vm.RunAsync($"echo {ca} | base64 -d > /tmp/ca.pem && grep -c CERTIFICATE /tmp/ca.pem");
        var server = site.Network.ServerAddress;
        var connected = await vm.RunAsync($"nbd-client {server} {BootSite.NbdPort} /dev/nbd1 -N std -x -A /tmp/ca.pem -H {server} 2>&1; echo exit=$?", TimeSpan.FromMinutes(1));
        output.WriteLine(connected);
        Assert.Contains("exit=0", connected, StringComparison.Ordinal);

        // The first 20 MiB (partition table and boot partition) are never written by the guest:
        // through TLS on nbd1 they read as through the root's own plaintext nbd0.
        var sums = await vm.RunAsync("for d in nbd0 nbd1; do dd if=/dev/$d bs=1M count=20 2>/dev/null | md5sum | cut -d' ' -f1; done", TimeSpan.FromMinutes(1));
        var lines = sums.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal(lines[0], lines[1]);
        Assert.Contains("ok", await vm.RunAsync("nbd-client -d /dev/nbd1 >/dev/null 2>&1; echo ok"), StringComparison.Ordinal);

        await site.Server!.WaitForOutputAsync("TLS started (Tls1");
        // The root itself stayed on its plaintext connection: TLS is offered, not required.
        Assert.Equal("ok\n", await vm.RunAsync("echo 3 > /proc/sys/vm/drop_caches; md5sum /bin/busybox >/dev/null && echo ok", TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task With_tls_required_a_diskless_client_mounts_its_root_through_tls_and_its_key_stays_off_the_command_line()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "std", "", "--write-cache", "server-disk");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:71:02", "--name", "lab-tls-root");
        await site.Cli.OkAsync("assign", "lab-tls-root", "std");
        await site.StartServerAsync(["--tls", "require"]);
        await site.StartIpxeDhcpAsync();

        // The server refuses every plaintext connection: a client that is up streams its root through TLS.
        var vm = await site.StartVmAsync("52:54:00:5b:71:02");
        var up = await TestOs.WaitUpAsync(vm);
        Assert.Equal("lab-tls-root", up["hostname"]);
        await site.Server!.WaitForOutputAsync("TLS started (Tls1");
        Assert.Contains("connecting with nbd-client over TLS", vm.Console, StringComparison.Ordinal);
        Assert.Equal("written\n", await vm.RunAsync("echo through-tls > /root/tls && sync && cat /root/tls >/dev/null && echo written", TimeSpan.FromMinutes(1)));

        // The key came as an initramfs piece: not on the command line, not in the OS's files.
        Assert.Equal("0\n", await vm.RunAsync("grep -cF streamboot.key= /proc/cmdline || true"));
        Assert.Equal("absent\n", await vm.RunAsync("test -e /etc/streamboot/boot.key && echo present || echo absent"));
        Assert.DoesNotContain("STREAMBOOT_KEY", await vm.RunAsync("cat /run/streamboot/session.env"), StringComparison.Ordinal);
    }
}
