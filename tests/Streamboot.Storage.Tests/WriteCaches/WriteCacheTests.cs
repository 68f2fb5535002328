using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Tests.Support;
using Streamboot.Storage.WriteCaches;
using Xunit;

namespace Streamboot.Storage.Tests.WriteCaches;

public sealed class WriteCacheTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly RawBlockDevice _base;
    private readonly byte[] _baseBytes = Sync.Pattern(4 << 20, 1);

    public WriteCacheTests()
    {
        File.WriteAllBytes(_dir.File("base.raw"), _baseBytes);
        _base = RawBlockDevice.Open(_dir.File("base.raw"), readOnly: true);
    }

    public void Dispose()
    {
        _base.Close();
        _dir.Dispose();
    }

    [Fact]
    public void Writes_of_one_session_are_never_seen_by_another()
    {
        var a = WriteCache.OnServerDisk(_base, _dir.File("a.cache"));
        var b = WriteCache.InRam(_base, 1 << 20, _dir.File("b.overflow"));
        var c = WriteCache.AsQcow2(_base, _dir.File("c.qcow2"));
        a.Write(1000, Sync.Pattern(10_000, 50));
        b.Write(5000, Sync.Pattern(10_000, 60));
        c.Trim(0, 1 << 20);
        Assert.Equal(_baseBytes.AsSpan(0, 1 << 20).ToArray(), Sync.Read(_base, 0, 1 << 20));
        var fromA = a.Read(0, 20_000);
        var fromB = b.Read(0, 20_000);
        Assert.Equal(Sync.Pattern(10_000, 50), fromA.AsSpan(1000, 10_000).ToArray());
        Assert.Equal(_baseBytes.AsSpan(11_000, 9_000).ToArray(), fromA.AsSpan(11_000).ToArray());
        Assert.Equal(_baseBytes.AsSpan(0, 5000).ToArray(), fromB.AsSpan(0, 5000).ToArray());
        Assert.Equal(Sync.Pattern(10_000, 60), fromB.AsSpan(5000, 10_000).ToArray());
        Assert.All(c.Read(0, 1 << 20), x => Assert.Equal(0, x));
        a.Close();
        b.Close();
        c.Close();
        Assert.False(File.Exists(_dir.File("a.cache")), "a server-disk cache is thrown away with its session");
        Qemu.CheckClean(_dir.File("c.qcow2"));
    }

    [Fact]
    public void Caches_report_their_size_and_give_space_back_on_trim()
    {
        var disk = WriteCache.OnServerDisk(_base, _dir.File("d.cache"));
        Assert.Equal(0, disk.BytesUsed);
        disk.Write(100, new byte[10]);              // one 4 KiB block, copied up
        disk.Write(8192, new byte[3 * 4096]);       // three whole blocks
        Assert.Equal(4 * 4096, disk.BytesUsed);
        disk.Trim(8192, 3 * 4096);
        Assert.Equal(4096, disk.BytesUsed);
        disk.Close();

        var ram = WriteCache.InRam(_base, 2 * 4096, _dir.File("r.overflow"));
        ram.Write(0, new byte[5 * 4096]);
        var store = (RamOverlayStore)ram.Store;
        Assert.Equal(2 * 4096, store.RamBytesUsed);
        Assert.Equal(3 * 4096, store.OverflowBytesUsed);
        Assert.Equal(5 * 4096, ram.BytesUsed);
        ram.Close();
    }

    [Fact]
    public void Full_caches_answer_no_space()
    {
        var ram = WriteCache.InRam(_base, 8192);
        ram.Write(0, new byte[8192]);
        var e = Assert.Throws<BlockDeviceException>(() => ram.Write(8192, new byte[1]));
        Assert.Equal(BlockDeviceError.NoSpace, e.Error);
        ram.Close();

        var disk = WriteCache.OnServerDisk(_base, _dir.File("full.cache"), maxBytes: 8192);
        disk.Write(0, new byte[8192]);
        e = Assert.Throws<BlockDeviceException>(() => disk.Write(1 << 20, new byte[1]));
        Assert.Equal(BlockDeviceError.NoSpace, e.Error);
        disk.Close();
    }

    [Fact]
    public void Client_disk_mode_serves_reads_and_refuses_writes()
    {
        var layer = WriteCache.OnClientDisk(_base);
        Assert.True(layer.Capabilities.HasFlag(BlockDeviceCapabilities.ReadOnly));
        Assert.Equal(_baseBytes.AsSpan(0, 4096).ToArray(), layer.Read(0, 4096));
        Assert.Equal(BlockDeviceError.ReadOnly, Assert.Throws<BlockDeviceException>(() => layer.Write(0, new byte[1])).Error);
        Assert.Equal(BlockDeviceError.ReadOnly, Assert.Throws<BlockDeviceException>(() => layer.Trim(0, 4096)).Error);
        Assert.Equal(BlockDeviceError.ReadOnly, Assert.Throws<BlockDeviceException>(() => layer.Zero(0, 4096)).Error);
        Assert.Equal(0, layer.BytesUsed);
    }

    [Fact]
    public async Task Concurrent_writers_and_readers_on_one_cache_see_their_own_blocks()
    {
        var cache = WriteCache.InRam(_base, 1 << 20, _dir.File("conc.overflow"));
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            var random = new Random(t);
            var mine = new byte[1000];
            for (var i = 0; i < 2000; i++)
            {
                // Each task owns every 8th 4 KiB block, so the tasks never write the same bytes.
                var block = (random.Next(0, 1024 / 8) * 8) + t;
                var offset = ((long)block * 4096) + random.Next(0, 4096 - 1000);
                random.NextBytes(mine);
                await cache.WriteAsync(offset, mine.ToArray());
                var back = new byte[1000];
                await cache.ReadAsync(offset, back);
                Assert.Equal(mine, back);
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        cache.Close();
    }

    [Fact]
    public async Task Writes_racing_trims_never_land_in_another_blocks_slot()
    {
        var cache = WriteCache.InRam(_base, 64 * 4096, _dir.File("race.overflow"));
        await TrimRace.RunAsync(cache, 4096, 256);
        cache.Close();
    }
}
