using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Server.Streaming;
using Streamboot.Storage.Profiles;
using Streamboot.Testing;
using Xunit.Abstractions;

namespace Streamboot.Server.Tests.Streaming;

/// <summary>Boot profiles through the server's session layer: recorded by one boot, replayed into the shared read cache for the next.</summary>
public sealed class BootProfileTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Block = 64 * 1024;
    private readonly TempFolder _data = new();
    private readonly ListLogger _log = new();
    private AdminSite _site = null!;

    public async Task InitializeAsync()
    {
        var database = await SiteDatabase.OpenAsync(DatabaseLocation.InDataFolder(_data.Path));
        _site = new AdminSite(database, _data.Path, "tester@test");
        var vdisk = await new VDiskAdmin(_site).CreateAsync("gold", 32L << 20, format: "qcow2");
        await QemuImg.IoAsync("qcow2", Path.Combine(vdisk.Value!.StorePath, "gold.1.qcow2"), "write -P 0x11 0 32M");
        foreach (var (mac, name) in new[] { ("52:54:00:00:00:01", "pc1"), ("52:54:00:00:00:02", "pc2") })
        {
            await new DeviceAdmin(_site).AddAsync(mac, new DeviceChanges(Name: name));
            await new AssignmentAdmin(_site).AssignAsync(name, "gold", false);
        }
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_boot_records_the_blocks_it_read_in_first_read_order()
    {
        await using var store = Store();
        await using (var registry = Registry(store))
        await using (var lease = await AcquireAsync(registry, "gold/pc1"))
        {
            // Blocks 320, 64, 65, 16..19, then 320 and 64 again (already recorded).
            foreach (var (offset, length) in new[] { (20L << 20, 4096), (4L << 20, 4096), ((4L << 20) + Block, 4096), ((1L << 20) + 100, 200_000), (20L << 20, 512), (4L << 20, 512) })
            {
                await lease.Device.ReadAsync(offset, new byte[length]);
            }
        }

        await store.Profiles.SavedAsync();
        var path = store.Profiles.PathFor("gold", 1);
        Assert.True(File.Exists(path), "no profile file");
        Assert.True(BootProfile.TryParse(await File.ReadAllBytesAsync(path), out var profile, out var reason), reason);
        Assert.Equal(
            [new(20L << 20, Block), new(4L << 20, 2 * Block), new(1L << 20, 4 * Block)],
            profile!.Extents);
        Assert.Equal(32L << 20, profile.DiskSize);
    }

    [Fact]
    public async Task After_a_restart_the_next_boots_first_reads_are_hits_of_the_replayed_profile()
    {
        var reads = Trace(count: 48, seed: 7);
        await using (var first = Store())
        {
            await using (var registry = Registry(first))
            await using (var lease = await AcquireAsync(registry, "gold/pc1"))
            {
                await ReadAllAsync(lease, reads);
            }

            await first.Profiles.SavedAsync();
        }

        // A new server process: an empty shared cache, the profile on disk.
        await using var second = Store();
        await using var registry2 = Registry(second);
        second.BootBegins("pc2", "gold", 1);
        await using var lease2 = await AcquireAsync(registry2, "gold/pc2");
        await second.Profiles.ReplayOf("gold", 1);
        var (hits, misses) = second.ReadCacheCounters();
        await ReadAllAsync(lease2, reads);
        var (hitsAfter, missesAfter) = second.ReadCacheCounters();
        Assert.Equal(misses, missesAfter);
        Assert.True(hitsAfter - hits >= reads.Count, $"{hitsAfter - hits} hits for {reads.Count} reads");
        Assert.Equal(1, second.Profiles.ReplaysStarted);
        Assert.Equal(misses, second.Profiles.BlocksPrefetched);
        Assert.Contains(_log.Lines, l => l.Contains("Boot profile: replayed gold version 1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("empty")]
    public async Task A_corrupt_profile_is_ignored_with_a_log_line_and_the_boot_goes_on(string damage)
    {
        await using var store = Store();
        var path = store.Profiles.PathFor("gold", 1);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var good = new BootProfile(Block, 32L << 20, DateTimeOffset.UtcNow, [new(0, Block), new(1L << 20, Block)]).Serialize();
        byte[] bytes = damage switch
        {
            "garbage" => "not a profile at all, just text"u8.ToArray(),
            "truncated" => good[..^5],
            "flipped" => [.. good[..40], (byte)(good[40] ^ 1), .. good[41..]],
            _ => [],
        };
        await File.WriteAllBytesAsync(path, bytes);

        await using (var registry = Registry(store))
        await using (var lease = await AcquireAsync(registry, "gold/pc1"))
        {
            var buffer = new byte[4096];
            await lease.Device.ReadAsync(1L << 20, buffer);
            Assert.All(buffer, b => Assert.Equal(0x11, b));
        }

        Assert.Equal(0, store.Profiles.ReplaysStarted);
        Assert.Contains(_log.Lines, l => l.StartsWith("Boot profile: ignored " + path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_boot_storm_starts_one_replay_per_version()
    {
        await RecordAsync(Trace(count: 64, seed: 3));
        await using var store = Store(TimeSpan.FromMilliseconds(20));
        await using var registry = Registry(store);
        await using var lease = await AcquireAsync(registry, "gold/pc1"); // the version's first session starts the replay
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => store.BootBegins($"storm{i}", "gold", 1))));
        Assert.False(store.Profiles.ReplayOf("gold", 1).IsCompleted, "the replay ended before the storm: the test proves nothing");
        await store.Profiles.ReplayOf("gold", 1);
        Assert.Equal(1, store.Profiles.ReplaysStarted);

        // A boot after the replay ended starts another (cheap: the blocks are cached).
        store.BootBegins("pc2", "gold", 1);
        await store.Profiles.ReplayOf("gold", 1);
        Assert.Equal(2, store.Profiles.ReplaysStarted);
    }

    [Fact]
    public async Task A_session_too_short_to_be_a_boot_keeps_the_last_profile()
    {
        await RecordAsync(Trace(count: 32, seed: 5));
        var path = Store().Profiles.PathFor("gold", 1);
        var before = await File.ReadAllBytesAsync(path);
        await using (var store = Store())
        {
            store.BootBegins("pc2", "gold", 1);
            await using (var registry = Registry(store))
            await using (var lease = await AcquireAsync(registry, "gold/pc2"))
            {
                await lease.Device.ReadAsync(0, new byte[4096]);
            }

            await store.Profiles.SavedAsync();
        }

        Assert.Equal(before, await File.ReadAllBytesAsync(path));
        Assert.Contains(_log.Lines, l => l.Contains("the last profile stays", StringComparison.Ordinal));
    }

    /// <summary>
    /// The measurement of docs/boot-profiles.md: a boot's root file system
    /// reads (about 1.9 MB, scattered, one at a time as a booting kernel
    /// issues them) over storage with a fixed latency, cold cache, with and
    /// without the profile of an earlier boot.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public async Task Measure_a_cold_boot_trace_with_and_without_the_profile(int latencyMs)
    {
        var reads = Trace(count: 120, seed: 11, length: 16 * 1024);
        await RecordAsync(reads);
        var path = Store().Profiles.PathFor("gold", 1);
        var profile = await File.ReadAllBytesAsync(path);

        File.Delete(path);
        var without = await TimeBootAsync(reads, latencyMs);
        await File.WriteAllBytesAsync(path, profile);
        var with = await TimeBootAsync(reads, latencyMs);
        output.WriteLine($"latency {latencyMs} ms, {reads.Count} reads, {reads.Sum(r => r.Length)} bytes: without profile {without.TotalMilliseconds:F0} ms, with profile {with.TotalMilliseconds:F0} ms");
        Assert.True(with < without, $"with {with}, without {without}");
    }

    private async Task<TimeSpan> TimeBootAsync(IReadOnlyList<(long Offset, int Length)> reads, int latencyMs)
    {
        await using var store = Store(TimeSpan.FromMilliseconds(latencyMs));
        await using var registry = Registry(store);
        var watch = Stopwatch.StartNew();
        store.BootBegins("pc2", "gold", 1);
        await using (var lease = await AcquireAsync(registry, "gold/pc2"))
        {
            await ReadAllAsync(lease, reads);
        }

        return watch.Elapsed;
    }

    private async Task RecordAsync(IReadOnlyList<(long Offset, int Length)> reads)
    {
        await using var store = Store();
        await using (var registry = Registry(store))
        await using (var lease = await AcquireAsync(registry, "gold/pc1"))
        {
            await ReadAllAsync(lease, reads);
        }

        await store.Profiles.SavedAsync();
        Assert.True(File.Exists(store.Profiles.PathFor("gold", 1)));
    }

    private WriteCacheStore Store(TimeSpan latency = default) =>
        new(_data.Path, profileSettings: new BootProfileSettings(TimeSpan.FromSeconds(60), MinBlocks: 4), logger: _log)
        {
            StorageReadLatency = latency,
        };

    private SessionRegistry Registry(WriteCacheStore store) =>
        new(() => new StreamingSessions(_site, null), store, NullLogger<SessionRegistry>.Instance);

    private static async Task<SessionLease> AcquireAsync(SessionRegistry registry, string export)
    {
        var result = await registry.AcquireAsync(export, "nbd", "127.0.0.1", CancellationToken.None);
        Assert.True(result.Ok, result.Error?.Message);
        return result.Value;
    }

    private static async Task ReadAllAsync(SessionLease lease, IReadOnlyList<(long Offset, int Length)> reads)
    {
        foreach (var (offset, length) in reads)
        {
            var buffer = new byte[length];
            await lease.Device.ReadAsync(offset, buffer);
            Assert.Equal(0x11, buffer[^1]);
        }
    }

    /// <summary>Scattered reads in a fixed order, as a booting kernel's page-cache misses come.</summary>
    private static List<(long Offset, int Length)> Trace(int count, int seed, int length = 4096)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => ((long)random.Next(0, ((32 << 20) - length) / 512) * 512, length))];
    }

    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IEnumerable<string> Lines => _lines;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));
    }
}
