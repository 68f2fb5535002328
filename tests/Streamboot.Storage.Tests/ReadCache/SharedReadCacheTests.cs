using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.ReadCache;
using Streamboot.Storage.Tests.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Streamboot.Storage.WriteCaches;
using Xunit;

namespace Streamboot.Storage.Tests.ReadCache;

public sealed class SharedReadCacheTests : IDisposable
{
    private const int Block = 4096;
    private readonly TempDirectory _dir = new();
    private readonly byte[] _bytes = Sync.Pattern(8 << 20, 7);
    private readonly RawBlockDevice _raw;

    public SharedReadCacheTests()
    {
        File.WriteAllBytes(_dir.File("base.raw"), _bytes);
        _raw = RawBlockDevice.Open(_dir.File("base.raw"), readOnly: true);
    }

    public void Dispose()
    {
        _raw.Close();
        _dir.Dispose();
    }

    /// <summary>The whole session stack: chain, small shared read cache (evicting all the time), write cache.</summary>
    [Property(MaxTest = 60)]
    public Property Session_stack_with_a_tiny_read_cache_behaves_like_a_byte_array() =>
        Prop.ForAll(ModelHarness.Ops(1 << 20, 4096, reopen: false), ops =>
        {
            using var dir = new TempDirectory();
            var (top, model) = Qcow2ModelTests.MakeChain(dir);
            var shared = new SharedReadCache(ImageChain.Open(top, readOnly: true), 64 << 10, 16384);
            var session = WriteCache.OnServerDisk(shared, dir.File("cache.bin"));
            ModelHarness.Run(session, model, ops).Close();
            shared.Close();
        });

    [Fact]
    public void A_small_read_of_a_block_seen_once_is_read_as_asked_the_second_caches_it_and_a_large_read_caches_at_once()
    {
        var counting = new CountingDevice(_raw);
        var cache = new SharedReadCache(counting, 1 << 20, Block, ownsLower: false);
        // A small read's first sight: just the bytes asked for, from below; nothing
        // cached (a random small read must not cost a whole block).
        Assert.Equal(_bytes.AsSpan(100, 500).ToArray(), cache.Read(100, 500));
        Assert.Equal(0, cache.BytesCached);
        Assert.Equal(1, cache.Misses);
        // Seen again: the block is loaded whole, and from then on a hit.
        Assert.Equal(_bytes.AsSpan(200, 300).ToArray(), cache.Read(200, 300));
        Assert.Equal(Block, cache.BytesCached);
        Assert.Equal(2, cache.Misses);
        var reads = counting.Reads;
        Assert.Equal(_bytes.AsSpan(300, 100).ToArray(), cache.Read(300, 100));
        Assert.Equal(1, cache.Hits);
        Assert.Equal(reads, counting.Reads);
        // A read of most of a block loads it the first time (a boot storm's second client reads RAM).
        Assert.Equal(_bytes.AsSpan(4 * Block, Block).ToArray(), cache.Read(4 * Block, Block));
        Assert.Equal(2 * Block, cache.BytesCached);
        Assert.Equal(_bytes.AsSpan(4 * Block, Block).ToArray(), cache.Read(4 * Block, Block));
        Assert.Equal(2, cache.Hits);
    }

    [Fact]
    public void Cache_stays_within_its_bound()
    {
        var cache = new SharedReadCache(_raw, 64 * Block, Block, ownsLower: false);
        for (var i = 0; i < 1000; i++)
        {
            _ = cache.Read((long)i * Block, Block);
        }

        Assert.True(cache.BytesCached <= 64 * Block, $"{cache.BytesCached} bytes cached");
    }

    /// <summary>
    /// A working set read a few times survives a scan of the whole disk, which
    /// would wipe an LRU cache of the same size.
    /// </summary>
    [Fact]
    public void Working_set_survives_a_sequential_scan()
    {
        var cache = new SharedReadCache(_raw, 256 * Block, Block, ownsLower: false);
        var workingSet = Enumerable.Range(0, 150).Select(i => (long)i * 7 * Block).ToArray();
        for (var round = 0; round < 3; round++)
        {
            foreach (var offset in workingSet)
            {
                _ = cache.Read(offset, 512);
            }
        }

        for (long offset = 0; offset < _bytes.Length; offset += Block)
        {
            _ = cache.Read(offset, Block); // 2048 blocks, eight times the cache
        }

        var missesBefore = cache.Misses;
        foreach (var offset in workingSet)
        {
            Assert.Equal(_bytes.AsSpan((int)offset, 512).ToArray(), cache.Read(offset, 512));
        }

        var missed = cache.Misses - missesBefore;
        Assert.True(missed <= workingSet.Length / 10, $"{missed} of {workingSet.Length} working-set blocks were lost to the scan");
    }

    [Fact]
    public async Task Concurrent_sessions_missing_the_same_block_read_it_from_below_at_most_twice()
    {
        var counting = new CountingDevice(_raw, delayMs: 50);
        var cache = new SharedReadCache(counting, 1 << 20, Block, ownsLower: false);
        var reads = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            var buffer = new byte[100];
            await cache.ReadAsync(5000, buffer);
            return buffer;
        })).ToArray();
        foreach (var r in await Task.WhenAll(reads))
        {
            Assert.Equal(_bytes.AsSpan(5000, 100).ToArray(), r);
        }

        // The first reader reads what it asked for; every other one waits for
        // one load of the block (a boot storm's N-th client costs no storage read).
        Assert.InRange(counting.Reads, 1, 2);
        Assert.Equal(16, cache.Hits + cache.Misses);
        Assert.InRange(cache.Misses, 1, 2);
        Assert.Equal(Block, cache.BytesCached);
    }

    [Fact]
    public async Task Many_concurrent_random_readers_get_the_right_bytes()
    {
        var cache = new SharedReadCache(_raw, 128 * Block, Block, ownsLower: false);
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            var random = new Random(t);
            var buffer = new byte[10_000];
            for (var i = 0; i < 3000; i++)
            {
                var length = random.Next(1, buffer.Length);
                var offset = random.NextInt64(0, _bytes.Length - length);
                await cache.ReadAsync(offset, buffer.AsMemory(0, length));
                Assert.True(buffer.AsSpan(0, length).SequenceEqual(_bytes.AsSpan((int)offset, length)), $"task {t} read {length} at {offset} wrong");
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        Assert.True(cache.BytesCached <= 128 * Block);
    }

    [Fact]
    public async Task Prefetched_blocks_are_hits()
    {
        var counting = new CountingDevice(_raw);
        var cache = new SharedReadCache(counting, 1 << 20, Block, ownsLower: false);
        await cache.PrefetchAsync(10_000, 20_000); // blocks 2..7
        Assert.Equal(6, counting.Reads);
        Assert.Equal(_bytes.AsSpan(12_000, 15_000).ToArray(), cache.Read(12_000, 15_000));
        Assert.Equal(6, counting.Reads);
        Assert.Equal(5, cache.Hits); // blocks 2..6
    }

    [Fact]
    public void Read_cache_refuses_writes()
    {
        var cache = new SharedReadCache(_raw, 1 << 20, Block, ownsLower: false);
        Assert.Equal(BlockDeviceError.ReadOnly, Assert.Throws<BlockDeviceException>(() => cache.Write(0, new byte[1])).Error);
    }
}
