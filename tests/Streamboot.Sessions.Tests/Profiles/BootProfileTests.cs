using Streamboot.Admin;
using Streamboot.Data;
using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Tests.Support;
using Streamboot.Sessions.Views;
using Streamboot.Storage.Profiles;
using Streamboot.Testing;

namespace Streamboot.Sessions.Tests.Profiles;

/// <summary>Boot profiles through the session layer: recorded by one boot, replayed into the shared read cache for the next.</summary>
public sealed class BootProfileTests : SessionSiteTests
{
    private const int Block = 64 * 1024;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var vdisk = await new VDiskAdmin(Site).CreateAsync("gold", 32L << 20, format: "qcow2");
        await QemuImg.IoAsync("qcow2", Path.Combine(vdisk.Value!.StorePath, "gold.1.qcow2"), "write -P 0x11 0 32M");
        foreach (var (mac, name) in new[] { ("52:54:00:00:00:01", "pc1"), ("52:54:00:00:00:02", "pc2") })
        {
            await new DeviceAdmin(Site).AddAsync(mac, new DeviceChanges(Name: name));
            await new AssignmentAdmin(Site).AssignAsync(name, "gold", false);
        }
    }

    [Fact]
    public async Task A_boot_records_the_blocks_it_read_in_first_read_order()
    {
        await using (var view = await BootAndOpenAsync("52:54:00:00:00:01", "pc1"))
        {
            // Blocks 320, 64, 65, 16..19, then 320 and 64 again (already recorded).
            foreach (var (offset, length) in new[] { (20L << 20, 4096), (4L << 20, 4096), ((4L << 20) + Block, 4096), ((1L << 20) + 100, 200_000), (20L << 20, 512), (4L << 20, 512) })
            {
                await view.Device.ReadAsync(offset, new byte[length]);
            }
        }

        await Layer.Profiles.SavedAsync();
        var path = Layer.Profiles.PathFor("gold", 1);
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
        await RecordAsync(reads);

        // A new server process: an empty shared cache, the profile on disk. The boot script starts the replay.
        await RestartAsync();
        var key = await BootAsync("52:54:00:00:00:02", "10.0.0.2");
        await Layer.Profiles.ReplayOf("gold", 1);
        var (hits, misses) = Layer.Images.Counters();
        await using (var view = await OpenAsync($"gold/pc2/{key}", "10.0.0.2:1"))
        {
            await ReadAllAsync(view, reads);
        }

        var (hitsAfter, missesAfter) = Layer.Images.Counters();
        Assert.Equal(misses, missesAfter);
        Assert.True(hitsAfter - hits >= reads.Count, $"{hitsAfter - hits} hits for {reads.Count} reads");
        Assert.Equal(1, Layer.Profiles.ReplaysStarted);
        Assert.Equal(misses, Layer.Profiles.BlocksPrefetched);
        Assert.Contains(Log.Lines, l => l.Contains("Boot profile: replayed gold version 1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("empty")]
    public async Task A_corrupt_profile_is_ignored_with_a_log_line_and_the_boot_goes_on(string damage)
    {
        var path = Layer.Profiles.PathFor("gold", 1);
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

        await using (var view = await BootAndOpenAsync("52:54:00:00:00:01", "pc1"))
        {
            var buffer = new byte[4096];
            await view.Device.ReadAsync(1L << 20, buffer);
            Assert.All(buffer, b => Assert.Equal(0x11, b));
        }

        Assert.Equal(0, Layer.Profiles.ReplaysStarted);
        Assert.Contains(Log.Lines, l => l.StartsWith("Boot profile: ignored " + path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_boot_storm_starts_one_replay_per_version()
    {
        await RecordAsync(Trace(count: 64, seed: 3));
        await using var slow = new SessionLayer(Site, Settings with { StorageReadLatency = TimeSpan.FromMilliseconds(20) }, ProfileSettings, () => null, Log);
        var top = Path.Combine(DataFolder, "vdisks", "gold", "gold.1.qcow2");
        long versionId;
        await using (var db = Site.Database.CreateContext())
        {
            versionId = db.VDiskVersions.Single().Id;
        }

        // A hundred boots of the version begin at once: each asks for the replay.
        await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => slow.Profiles.StartReplay("gold", 1, slow.Images.Acquire(versionId, top)))));
        Assert.False(slow.Profiles.ReplayOf("gold", 1).IsCompleted, "the replay ended before the storm: the test proves nothing");
        await slow.Profiles.ReplayOf("gold", 1);
        Assert.Equal(1, slow.Profiles.ReplaysStarted);

        // A boot after the replay ended starts another (cheap: the blocks are cached).
        Assert.IsType<BootVDisk>(await slow.DecideAsync(new BootRequest("52:54:00:00:00:02", "10.0.9.9")));
        await slow.Profiles.ReplayOf("gold", 1);
        Assert.Equal(2, slow.Profiles.ReplaysStarted);
    }

    [Fact]
    public async Task A_session_too_short_to_be_a_boot_keeps_the_last_profile()
    {
        await RecordAsync(Trace(count: 32, seed: 5));
        var path = Layer.Profiles.PathFor("gold", 1);
        var before = await File.ReadAllBytesAsync(path);
        await using (var view = await BootAndOpenAsync("52:54:00:00:00:02", "pc2"))
        {
            await view.Device.ReadAsync(0, new byte[4096]);
        }

        await Layer.Profiles.SavedAsync();
        Assert.Equal(before, await File.ReadAllBytesAsync(path));
        Assert.Contains(Log.Lines, l => l.Contains("the last profile stays", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_reconnect_of_a_running_boot_does_not_record_over_the_profile()
    {
        await RecordAsync(Trace(count: 32, seed: 5));
        var path = Layer.Profiles.PathFor("gold", 1);
        var before = await File.ReadAllBytesAsync(path);
        var key = await BootAsync("52:54:00:00:00:02", "10.0.0.2");
        await (await OpenAsync($"gold/pc2/{key}", "10.0.0.2:1")).DisposeAsync();
        await Layer.Profiles.SavedAsync();
        var recordings = Log.Lines.Count(l => l.Contains("Boot profile: recording", StringComparison.Ordinal));

        // The same boot reconnects (a blip) and reads a lot: no new recording.
        await using (var again = await OpenAsync($"gold/pc2/{key}", "10.0.0.2:2"))
        {
            await ReadAllAsync(again, Trace(count: 64, seed: 9));
        }

        await Layer.Profiles.SavedAsync();
        Assert.Equal(recordings, Log.Lines.Count(l => l.Contains("Boot profile: recording", StringComparison.Ordinal)));
        Assert.Equal(before, await File.ReadAllBytesAsync(path));
    }

    private async Task<SessionView> BootAndOpenAsync(string mac, string device) =>
        await OpenAsync($"gold/{device}/{await BootAsync(mac)}");

    private async Task RecordAsync(IReadOnlyList<(long Offset, int Length)> reads)
    {
        await using (var view = await BootAndOpenAsync("52:54:00:00:00:01", "pc1"))
        {
            await ReadAllAsync(view, reads);
        }

        await Layer.Profiles.SavedAsync();
        Assert.True(File.Exists(Layer.Profiles.PathFor("gold", 1)));
    }

    private static async Task ReadAllAsync(SessionView view, IReadOnlyList<(long Offset, int Length)> reads)
    {
        foreach (var (offset, length) in reads)
        {
            var buffer = new byte[length];
            await view.Device.ReadAsync(offset, buffer);
            Assert.Equal(0x11, buffer[^1]);
        }
    }

    /// <summary>Scattered reads in a fixed order, as a booting kernel's page-cache misses come.</summary>
    private static List<(long Offset, int Length)> Trace(int count, int seed, int length = 4096)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => ((long)random.Next(0, ((32 << 20) - length) / 512) * 512, length))];
    }

    protected override Task<DatabaseLocation> CreateLocationAsync(string dataFolder) => Databases.SqliteAsync(dataFolder);
}
