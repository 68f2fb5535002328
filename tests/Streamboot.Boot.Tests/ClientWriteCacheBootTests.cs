using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Boot.Tests;

/// <summary>
/// Write caches the client keeps: the server streams a read-only view and
/// never sees a write; the client's boot component puts an overlay on the
/// streamed root with its upper layer in RAM (client-ram) or on the
/// client's own disk (client-disk, named by streamboot.localdisk=).
/// </summary>
public sealed class ClientWriteCacheBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Client_ram_keeps_writes_in_the_clients_memory_and_the_server_sees_none()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "kiosk");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:30:01", "--name", "kiosk1", "--write-cache", "client-ram");
        await site.Cli.OkAsync("assign", "kiosk1", "kiosk");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var vm = await site.StartVmAsync("52:54:00:5b:30:01");
        var up = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"QEMU start to test OS: {up.Seconds:F1} s ({up.Line})");
        Assert.Equal("client-ram", up["cache"]);
        Assert.Equal("overlay", up["fs"]);
        Assert.Equal("kiosk1", up["hostname"]);

        await vm.RunAsync("dd if=/dev/zero of=/root/big bs=1024 count=4096 2>/dev/null && sync");
        Assert.Contains("tmpfs", await vm.RunAsync("grep ' /run/streamboot/rw ' /proc/mounts"), StringComparison.Ordinal);
        Assert.Contains("4194304", await vm.RunAsync("wc -c < /root/big"), StringComparison.Ordinal);

        var session = await TestOs.LiveSessionAsync(site, "kiosk1");
        Assert.True(session is not null, "no live session for kiosk1");
        Assert.Equal(0, session.Value.GetProperty("bytesWritten").GetInt64());
        Assert.Equal(0, session.Value.GetProperty("writeCacheBytes").GetInt64());
    }

    [Fact]
    public async Task Client_disk_keeps_writes_on_the_clients_local_disk_and_the_server_sees_none()
    {
        await using var site = await BootSite.CreateAsync();
        await TestOs.ImportAsync(site, "lab", "streamboot.localdisk=/dev/vda");
        await site.Cli.OkAsync("device", "add", "52:54:00:5b:40:01", "--name", "lab1", "--write-cache", "client-disk");
        await site.Cli.OkAsync("assign", "lab1", "lab");
        await site.StartServerAsync();
        await site.StartIpxeDhcpAsync();

        var local = site.Folder.Combine("local.qcow2");
        await QemuImgCreateAsync(local, "256M");
        var vm = await site.StartVmAsync("52:54:00:5b:40:01", ["-boot", "n", "-drive", $"file={local},if=virtio,format=qcow2"]);
        var up = await TestOs.WaitUpAsync(vm);
        output.WriteLine($"QEMU start to test OS: {up.Seconds:F1} s ({up.Line})");
        Assert.Equal("client-disk", up["cache"]);
        Assert.Equal("overlay", up["fs"]);

        Assert.StartsWith("/dev/vda /run/streamboot/rw ", await vm.RunAsync("grep ' /run/streamboot/rw ' /proc/mounts"), StringComparison.Ordinal);
        await vm.RunAsync("dd if=/dev/urandom of=/root/big bs=1024 count=8192 2>/dev/null && sync");
        Assert.Contains("8388608", await vm.RunAsync("wc -c < /run/streamboot/rw/upper/root/big"), StringComparison.Ordinal);

        var session = await TestOs.LiveSessionAsync(site, "lab1");
        Assert.True(session is not null, "no live session for lab1");
        Assert.Equal(0, session.Value.GetProperty("bytesWritten").GetInt64());
        Assert.Equal(0, session.Value.GetProperty("writeCacheBytes").GetInt64());

        // The 8 MiB are in the client's own disk file.
        await vm.RunAsync("sync");
        var info = await ProcessRunner.RunAsync("qemu-img", ["info", "--force-share", "--output=json", local]);
        var used = System.Text.Json.JsonDocument.Parse(info.Stdout).RootElement.GetProperty("actual-size").GetInt64();
        Assert.True(used > 8 * 1024 * 1024, $"local.qcow2 holds {used} bytes");
    }

    private static async Task QemuImgCreateAsync(string path, string size)
    {
        var result = await ProcessRunner.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, size]);
        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
