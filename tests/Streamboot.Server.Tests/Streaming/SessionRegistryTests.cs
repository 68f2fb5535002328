using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Server.Streaming;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Streaming;

/// <summary>What clients of one vDisk see of each other's writes, through the server's session layer.</summary>
public sealed class SessionRegistryTests : IAsyncLifetime
{
    private readonly TempFolder _data = new();
    private AdminSite _site = null!;
    private SessionRegistry _registry = null!;
    private string _base = "";

    public async Task InitializeAsync()
    {
        var database = await SiteDatabase.OpenAsync(DatabaseLocation.InDataFolder(_data.Path));
        _site = new AdminSite(database, _data.Path, "tester@test");
        var vdisk = await new VDiskAdmin(_site).CreateAsync("gold", 32L << 20, format: "qcow2");
        _base = Path.Combine(vdisk.Value!.StorePath, "gold.1.qcow2");
        await QemuImg.IoAsync("qcow2", _base, "write -P 0x11 0 4M");
        await new VDiskAdmin(_site).CreateAsync("own", 8L << 20, accessMode: "private");
        foreach (var (mac, name) in new[] { ("52:54:00:00:00:01", "pc1"), ("52:54:00:00:00:02", "pc2") })
        {
            await new DeviceAdmin(_site).AddAsync(mac, new DeviceChanges(Name: name));
            await new AssignmentAdmin(_site).AssignAsync(name, "gold", false);
        }

        await new AssignmentAdmin(_site).AssignAsync("pc1", "own", false);
        _registry = new SessionRegistry(() => new StreamingSessions(_site, null), new WriteCacheStore(_data.Path), NullLogger<SessionRegistry>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Dispose();
    }

    [Fact]
    public async Task Two_devices_see_only_their_own_writes_and_the_read_only_view_sees_neither()
    {
        var before = await HashAsync(_base);
        await using (var pc1 = await AcquireAsync("gold/pc1"))
        await using (var pc2 = await AcquireAsync("gold/pc2"))
        await using (var view = await AcquireAsync("gold"))
        {
            await pc1.Device.WriteAsync(1 << 20, Fill(0xA1, 4096));
            await pc2.Device.WriteAsync(1 << 20, Fill(0xB2, 4096));
            Assert.Equal(0xA1, await ByteAtAsync(pc1, 1 << 20));
            Assert.Equal(0xB2, await ByteAtAsync(pc2, 1 << 20));
            Assert.Equal(0x11, await ByteAtAsync(view, 1 << 20));
            Assert.True(view.Plan.ReadOnly);
            await Assert.ThrowsAnyAsync<Exception>(async () => await view.Device.WriteAsync(0, Fill(0xFF, 512)));
        }

        Assert.Equal(before, await HashAsync(_base));
        var caches = new WriteCacheStore(_data.Path);
        foreach (var device in new[] { "pc1", "pc2" })
        {
            var overlay = caches.OverlayPath("gold", device, 1);
            await QemuImg.RunAsync("check", overlay);
        }

        await QemuImg.IoAsync("qcow2", caches.OverlayPath("gold", "pc1", 1), "read -P 0xa1 1M 4k", "read -P 0x11 0 1M");
    }

    [Fact]
    public async Task A_devices_connections_share_one_session_and_the_last_one_ends_it()
    {
        var first = await AcquireAsync("gold/pc1");
        var second = await AcquireAsync("gold/52-54-00-00-00-01");
        Assert.Equal(first.Plan.SessionId, second.Plan.SessionId);
        await first.Device.WriteAsync(0, Fill(0x42, 8192));
        Assert.Equal(0x42, await ByteAtAsync(second, 0));
        await first.DisposeAsync();
        await first.DisposeAsync();
        var live = Assert.Single(await new SiteQueries(_site).SessionsAsync(false));
        Assert.Equal("pc1", live.Device);

        await second.DisposeAsync();
        Assert.Empty(await new SiteQueries(_site).SessionsAsync(false));
        var ended = Assert.Single(await new SiteQueries(_site).SessionsAsync(true));
        Assert.Equal(8192, ended.BytesWritten);
        Assert.True(ended.WriteCacheBytes > 8192);
    }

    [Fact]
    public async Task A_reconnect_within_one_boot_keeps_the_writes()
    {
        await using (var lease = await AcquireAsync("gold/pc2"))
        {
            await lease.Device.WriteAsync(5 << 20, Fill(0x77, 65536));
        }

        await using (var again = await AcquireAsync("gold/pc2"))
        {
            Assert.Equal(0x77, await ByteAtAsync(again, 5 << 20));
        }
    }

    [Fact]
    public async Task A_ram_write_cache_keeps_a_reconnecting_clients_writes_and_puts_nothing_in_the_image()
    {
        await new DeviceAdmin(_site).SetAsync("pc2", new DeviceChanges(WriteCacheMode: "server-ram"));
        var before = await HashAsync(_base);
        await using (var lease = await AcquireAsync("gold/pc2"))
        {
            Assert.Equal(Data.Model.WriteCacheMode.ServerRam, lease.Plan.WriteCacheMode);
            await lease.Device.WriteAsync(3 << 20, Fill(0x3C, 65536));
            await lease.Device.FlushAsync();
        }

        var ended = Assert.Single(await new SiteQueries(_site).SessionsAsync(true));
        Assert.True(ended.WriteCacheBytes >= 65536, $"write cache {ended.WriteCacheBytes}");
        await using (var again = await AcquireAsync("gold/pc2"))
        {
            Assert.Equal(0x3C, await ByteAtAsync(again, 3 << 20));
        }

        Assert.Equal(before, await HashAsync(_base));
        Assert.False(File.Exists(new WriteCacheStore(_data.Path).OverlayPath("gold", "pc2", 1)));
    }

    [Fact]
    public async Task After_a_server_restart_a_disk_cache_reconnect_keeps_its_writes_and_a_ram_cache_reconnect_is_refused()
    {
        await new DeviceAdmin(_site).SetAsync("pc2", new DeviceChanges(WriteCacheMode: "server-ram"));
        await _registry.NewBootAsync("pc1", persistent: false);
        await _registry.NewBootAsync("pc2", persistent: false);
        var pc1 = await AcquireAsync("gold/pc1");
        var pc2 = await AcquireAsync("gold/pc2");
        await pc1.Device.WriteAsync(2 << 20, Fill(0x5A, 4096));
        await pc1.Device.FlushAsync();
        await pc2.Device.WriteAsync(2 << 20, Fill(0x6B, 4096));
        await pc2.Device.FlushAsync();

        // The server stops (its registry goes with it) and another starts on the same data.
        await _registry.DisposeAsync();
        _registry = new SessionRegistry(() => new StreamingSessions(_site, null), new WriteCacheStore(_data.Path), NullLogger<SessionRegistry>.Instance);
        await using (var again = await AcquireAsync("gold/pc1"))
        {
            Assert.True(again.Plan.ContinuesBoot);
            Assert.Equal(0x5A, await ByteAtAsync(again, 2 << 20));
        }

        var lost = await _registry.AcquireAsync("gold/pc2", "nbd", "127.0.0.1", CancellationToken.None);
        Assert.Equal(AdminErrorKind.Refused, lost.Error?.Kind);
        Assert.Contains("write cache was lost when the server restarted; restart the client", lost.Error!.Message, StringComparison.Ordinal);
        Assert.Empty(await new SiteQueries(_site).SessionsAsync(false));

        // Its next boot starts clean, with the version production has then.
        await _registry.NewBootAsync("pc2", persistent: false);
        await using var next = await AcquireAsync("gold/pc2");
        Assert.False(next.Plan.ContinuesBoot);
        Assert.Equal(0x11, await ByteAtAsync(next, 2 << 20));
    }

    [Fact]
    public async Task A_new_boot_of_a_machine_whose_old_connections_linger_ends_the_old_session_and_starts_clean()
    {
        await _registry.NewBootAsync("pc1", persistent: false);
        var old = await AcquireAsync("gold/pc1");
        await old.Device.WriteAsync(1 << 20, Fill(0x4D, 4096));

        // Reset button: the machine asks for its boot script again; its old connection never closed.
        await _registry.NewBootAsync("pc1", persistent: false);
        Assert.Empty(await new SiteQueries(_site).SessionsAsync(false));
        await using (var fresh = await AcquireAsync("gold/pc1"))
        {
            Assert.False(fresh.Plan.ContinuesBoot);
            Assert.NotEqual(old.Plan.SessionId, fresh.Plan.SessionId);
            Assert.Equal(0x11, await ByteAtAsync(fresh, 1 << 20));

            // The lingering connection finally goes (keepalive): the new session stays.
            await old.DisposeAsync();
            var live = Assert.Single(await new SiteQueries(_site).SessionsAsync(false));
            Assert.Equal(fresh.Plan.SessionId, live.Id);
        }
    }

    [Fact]
    public async Task Clients_of_one_version_read_each_block_from_storage_once()
    {
        var store = new WriteCacheStore(_data.Path);
        await using var registry = new SessionRegistry(() => new StreamingSessions(_site, null), store, NullLogger<SessionRegistry>.Instance);
        foreach (var export in new[] { "gold/pc1", "gold/pc2", "gold" })
        {
            var lease = await registry.AcquireAsync(export, "nbd", null, CancellationToken.None);
            var buffer = new byte[1 << 20];
            await lease.Value!.Device.ReadAsync(0, buffer);
            Assert.All(buffer, b => Assert.Equal(0x11, b));
            await lease.Value.DisposeAsync();
        }

        var (hits, misses) = store.ReadCacheCounters();
        Assert.True(misses > 0);
        Assert.True(hits >= 2 * misses, $"hits {hits}, misses {misses}");
        await store.DisposeAsync();
    }

    [Fact]
    public async Task A_private_image_takes_the_writes_itself()
    {
        await using (var lease = await AcquireAsync("own/pc1"))
        {
            await lease.Device.WriteAsync(0, Fill(0x99, 512));
        }

        var file = Path.Combine(_data.Path, "vdisks", "own", "own.1.raw");
        Assert.Equal(0x99, (await File.ReadAllBytesAsync(file))[0]);
        Assert.False(Directory.Exists(Path.Combine(_data.Path, "cache", "own")));
    }

    [Fact]
    public async Task Refused_exports_open_nothing()
    {
        var result = await _registry.AcquireAsync("own/pc2", "nbd", null, CancellationToken.None);
        Assert.Equal(AdminErrorKind.Refused, result.Error?.Kind);
        Assert.Empty(await new SiteQueries(_site).SessionsAsync(true));
    }

    private async Task<SessionLease> AcquireAsync(string export)
    {
        var result = await _registry.AcquireAsync(export, "nbd", "127.0.0.1", CancellationToken.None);
        Assert.True(result.Ok, result.Error?.Message);
        return result.Value;
    }

    private static byte[] Fill(byte value, int length) => Enumerable.Repeat(value, length).ToArray();

    private static async Task<byte> ByteAtAsync(SessionLease lease, long offset)
    {
        var buffer = new byte[512];
        await lease.Device.ReadAsync(offset, buffer);
        return buffer[0];
    }

    private static async Task<string> HashAsync(string file) => Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(file)));
}
