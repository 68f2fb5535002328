using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Profiles;
using Streamboot.Storage.ReadCache;
using Streamboot.Storage.Tests.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Streamboot.Storage.WriteCaches;
using Xunit;

namespace Streamboot.Storage.Tests.BlockDevices;

/// <summary>
/// Mapped reads (what the NBD server sends with sendfile) name exactly the
/// bytes a read returns, across allocated, unallocated, zero and
/// past-the-backing-file ranges; what cannot be mapped is declined, never guessed.
/// </summary>
public sealed class ReadMappingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Raw_maps_to_the_same_range_of_its_file_and_sees_later_writes()
    {
        var bytes = Sync.Pattern(1 << 20, 5);
        File.WriteAllBytes(_dir.File("disk.raw"), bytes);
        var raw = RawBlockDevice.Open(_dir.File("disk.raw"), readOnly: false);
        var segments = new ReadSegment[4];
        Assert.True(raw.TryMapRead(1000, 300_000, segments, out var count));
        Assert.Equal(1, count);
        Assert.Equal((ReadSegmentKind.Mapped, 1000L, 300_000), (segments[0].Kind, segments[0].FileOffset, segments[0].Length));
        Assert.Equal(bytes.AsSpan(1000, 300_000).ToArray(), Mapped.Fetch(segments.AsSpan(0, count), 300_000));
        Assert.Throws<BlockDeviceException>(() => raw.TryMapRead((1 << 20) - 100, 4096, segments, out _));

        // The mapping is shared with the file: writes and punched holes show through it.
        raw.Write(2000, Sync.Pattern(5000, 8));
        raw.Trim(65536, 65536);
        Sync.Pattern(5000, 8).CopyTo(bytes, 2000);
        Array.Clear(bytes, 65536, 65536);
        Assert.Equal(bytes.AsSpan(0, 200_000).ToArray(), Mapped.TryRead(raw, 0, 200_000));
        raw.Close();
    }

    [Fact]
    public void A_mapping_outlives_its_device_until_the_last_use_is_released()
    {
        var bytes = Sync.Pattern(1 << 20, 7);
        File.WriteAllBytes(_dir.File("disk.raw"), bytes);
        var raw = RawBlockDevice.Open(_dir.File("disk.raw"), readOnly: true);
        var segments = new ReadSegment[1];
        Assert.True(raw.TryMapRead(4096, 8192, segments, out _));
        var mapping = segments[0].Mapping!;
        var address = mapping.Acquire(4096);
        raw.Close();
        var copy = new byte[8192];
        System.Runtime.InteropServices.Marshal.Copy(address, copy, 0, copy.Length);
        Assert.Equal(bytes.AsSpan(4096, 8192).ToArray(), copy);
        mapping.Release();
        Assert.Throws<ObjectDisposedException>(() => mapping.Acquire(0));
    }

    [Fact]
    public void Chain_with_every_kind_of_cluster_maps_like_it_reads()
    {
        // raw base shorter than the disk <- 64 KiB clusters with data and zeroes <- 4 KiB clusters, some written.
        var (top, model) = Qcow2ModelTests.MakeChain(_dir);
        var v3 = ImageChain.Open(top, readOnly: false);
        var patch = Sync.Pattern(20_000, 9);
        v3.Write(600_000, patch);
        patch.CopyTo(model, 600_000);
        v3.Zero(700_000 / 4096 * 4096, 8192);
        Array.Clear(model, 700_000 / 4096 * 4096, 8192);
        v3.Flush();

        var ranges = new List<(long Offset, int Length)> { (0, 1 << 20), (49_000, 200_000), (190_000, 200_000), (760 << 10, 64 << 10), ((1 << 20) - 65536, 65536), (599_999, 20_002) };
        var random = new Random(3);
        for (var i = 0; i < 300; i++)
        {
            var offset = random.NextInt64(0, 1 << 20);
            ranges.Add((offset, random.Next(1, (int)Math.Min(300_000, (1 << 20) - offset) + 1)));
        }

        foreach (var (offset, length) in ranges)
        {
            var mapped = Mapped.TryRead(v3, offset, length, maxSegments: 256);
            Assert.True(mapped is not null, $"[{offset}, +{length}) was not mapped");
            Assert.True(model.AsSpan((int)offset, length).SequenceEqual(mapped), $"[{offset}, +{length}) maps to other bytes");
            Assert.Equal(model.AsSpan((int)offset, length).ToArray(), v3.Read(offset, length));
        }

        v3.Close();
    }

    [Fact]
    public void Neighbouring_pieces_join_and_too_many_pieces_decline()
    {
        var (top, _) = Qcow2ModelTests.MakeChain(_dir);
        var chain = ImageChain.Open(top, readOnly: true);
        var segments = new ReadSegment[64];
        // The tail past the 768 KiB raw base is unallocated all the way down: one run of zeroes.
        Assert.True(((IReadMapping)chain).TryMapRead(800 << 10, 200 << 10, segments, out var count));
        Assert.Equal(1, count);
        Assert.Equal(ReadSegmentKind.Zeroes, segments[0].Kind);
        // The raw base's bytes come through two qcow2 layers as one range of one file.
        Assert.True(((IReadMapping)chain).TryMapRead(400 << 10, 300 << 10, segments, out count));
        Assert.Equal(1, count);
        Assert.Equal((ReadSegmentKind.Mapped, 400L << 10), (segments[0].Kind, segments[0].FileOffset));
        // Data, zeroes, base: three pieces do not fit in two.
        Assert.False(((IReadMapping)chain).TryMapRead(100_000, 400_000, segments.AsSpan(0, 2), out _));
        chain.Close();
    }

    [Fact]
    public void Compressed_clusters_decline_and_the_rest_maps()
    {
        var source = _dir.File("source.raw");
        var bytes = Sync.Pattern(2 << 20, 9);
        File.WriteAllBytes(source, bytes);
        Qemu.Img("convert", "-c", "-O", "qcow2", source, _dir.File("c.qcow2"));
        Qemu.Img("create", "-f", "qcow2", "-b", "c.qcow2", "-F", "qcow2", _dir.File("top.qcow2"));
        Qemu.Io("-c", "write -P 0x5a 0 128k", _dir.File("top.qcow2"));
        bytes.AsSpan(0, 128 << 10).Fill(0x5a);

        var chain = ImageChain.Open(_dir.File("top.qcow2"), readOnly: true);
        Assert.Null(Mapped.TryRead(chain, 100_000, 100_000));
        Assert.Equal(bytes.AsSpan(0, 128 << 10).ToArray(), Mapped.TryRead(chain, 0, 128 << 10));
        Assert.Equal(bytes.AsSpan(100_000, 100_000).ToArray(), chain.Read(100_000, 100_000));
        chain.Close();
    }

    [Fact]
    public void A_short_last_cluster_maps_past_the_end_of_the_file_and_reads_as_zeroes_there()
    {
        var path = _dir.File("short.qcow2");
        Qcow2Image.Create(path, 1 << 20);
        var image = Qcow2Image.Open(path, readOnly: false);
        image.Write(65536, Sync.Pattern(4096, 1));
        image.Close();
        // qemu leaves the last data cluster short when it ends the file; so does cutting it here.
        var mapped = Qcow2Image.Open(path, readOnly: true);
        var segments = new ReadSegment[4];
        Assert.True(mapped.TryMapRead(65536, 65536, segments, out var count));
        var file = segments[..count].ToArray().Single(s => s.Kind is ReadSegmentKind.File or ReadSegmentKind.Mapped);
        mapped.Close();
        using (var stream = new FileStream(path, FileMode.Open))
        {
            stream.SetLength(file.FileOffset + 4096);
        }

        var image2 = Qcow2Image.Open(path, readOnly: true);
        var expected = new byte[65536];
        Sync.Pattern(4096, 1).CopyTo(expected, 0);
        Assert.Equal(expected, image2.Read(65536, 65536));
        Assert.Equal(expected, Mapped.TryRead(image2, 65536, 65536));
        image2.Close();
    }

    [Fact]
    public void Write_caches_map_untouched_and_zeroed_blocks_and_decline_their_own()
    {
        var bytes = Sync.Pattern(1 << 20, 2);
        File.WriteAllBytes(_dir.File("base.raw"), bytes);
        var lower = RawBlockDevice.Open(_dir.File("base.raw"), readOnly: true);
        foreach (var cache in new IBlockDevice[] { WriteCache.OnServerDisk(lower, _dir.File("a.cache")), WriteCache.InRam(lower, 1 << 20), WriteCache.OnClientDisk(lower) })
        {
            Assert.Equal(bytes.AsSpan(4096, 200_000).ToArray(), Mapped.TryRead(cache, 4096, 200_000));
            if (cache is OverlayWriteCache overlay)
            {
                overlay.Trim(65536, 65536);
                overlay.Write(300_000, Sync.Pattern(5000, 3));
                var expected = bytes.AsSpan(0, 200_000).ToArray();
                Array.Clear(expected, 65536, 65536);
                Assert.Equal(expected, Mapped.TryRead(overlay, 0, 200_000));
                Assert.Null(Mapped.TryRead(overlay, 290_000, 20_000));
                Assert.Equal(bytes.AsSpan(400_000, 100_000).ToArray(), Mapped.TryRead(overlay, 400_000, 100_000));
            }

            cache.Close();
        }

        var qcow2Cache = WriteCache.AsQcow2(lower, _dir.File("c.qcow2"));
        qcow2Cache.Write(65536, Sync.Pattern(65536, 4));
        var model = bytes.AsSpan(0, 300_000).ToArray();
        Sync.Pattern(65536, 4).CopyTo(model, 65536);
        // The qcow2 cache's own clusters are file ranges too: they map.
        Assert.Equal(model, Mapped.TryRead(qcow2Cache, 0, 300_000));
        qcow2Cache.Close();
        lower.Close();
    }

    [Fact]
    public async Task Read_cache_maps_cached_blocks_to_memory_and_misses_to_the_layer_below_caching_what_is_seen_twice()
    {
        var bytes = Sync.Pattern(1 << 20, 6);
        File.WriteAllBytes(_dir.File("base.raw"), bytes);
        var lower = new CountingDevice(RawBlockDevice.Open(_dir.File("base.raw"), readOnly: true));
        var cache = new SharedReadCache(lower, 1 << 20, 4096);

        // A miss maps to the file below: no copy, nothing cached (a pass over a
        // disk larger than the cache evicts nothing).
        Assert.Equal(bytes.AsSpan(0, 16384).ToArray(), Mapped.TryRead(cache, 0, 16384));
        Assert.Equal(0, cache.BytesCached);
        Assert.Equal(4, cache.Misses);

        // Seen again: served from below again, and loaded in the background.
        Assert.Equal(bytes.AsSpan(0, 16384).ToArray(), Mapped.TryRead(cache, 0, 16384));
        for (var i = 0; i < 200 && cache.BytesCached < 16384; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(16384, cache.BytesCached);
        var (hits, reads) = (cache.Hits, lower.Reads);
        var segments = new ReadSegment[4];
        Assert.True(cache.TryMapRead(100, 7900, segments, out var count));
        Assert.Equal(2, count);
        Assert.All(segments[..count], s => Assert.Equal(ReadSegmentKind.Memory, s.Kind));
        Assert.Equal(bytes.AsSpan(100, 7900).ToArray(), Mapped.Fetch(segments.AsSpan(0, count), 7900));
        Assert.Equal(hits + 2, cache.Hits);
        Assert.Equal(reads, lower.Reads);
        cache.Close();

        // Below a layer that does not map, a miss declines and the ordinary read loads it.
        var raw = RawBlockDevice.Open(_dir.File("base.raw"), readOnly: true);
        var slow = new SharedReadCache(new LatencyBlockDevice(raw, TimeSpan.FromMilliseconds(1)), 1 << 20, 4096, ownsLower: false);
        Assert.Null(Mapped.TryRead(slow, 0, 8192));
        Assert.Equal(bytes.AsSpan(0, 8192).ToArray(), slow.Read(0, 8192));
        Assert.Equal(8192, slow.BytesCached);
        Assert.NotNull(Mapped.TryRead(slow, 0, 8192));
        slow.Close();

        // Capacity 0 is no cache: reads and mappings pass through, nothing is kept.
        var none = new SharedReadCache(raw, 0, 4096, ownsLower: false);
        Assert.Equal(bytes.AsSpan(4096, 8192).ToArray(), none.Read(4096, 8192));
        Assert.Equal(bytes.AsSpan(0, 16384).ToArray(), Mapped.TryRead(none, 0, 16384));
        Assert.Equal(bytes.AsSpan(0, 16384).ToArray(), Mapped.TryRead(none, 0, 16384));
        await Task.Delay(50);
        Assert.Equal(0, none.BytesCached);
        none.Close();
        raw.Close();
    }

    [Fact]
    public void Filters_pass_mappings_through_and_see_them_as_reads()
    {
        File.WriteAllBytes(_dir.File("base.raw"), Sync.Pattern(1 << 20, 2));
        var lower = RawBlockDevice.Open(_dir.File("base.raw"), readOnly: true);
        var recorder = new BootProfileRecorder(lower, 65536, TimeSpan.FromMinutes(1), 1 << 20);
        Assert.NotNull(Mapped.TryRead(recorder, 3 * 65536, 2 * 65536));
        Assert.Equal(2, recorder.BlocksRecorded);
        Assert.Null(Mapped.TryRead(new LatencyBlockDevice(lower, TimeSpan.FromMilliseconds(1)), 0, 4096));
        Assert.NotNull(Mapped.TryRead(new CountingDevice(lower), 0, 4096));
        recorder.Close();
        lower.Close();
    }
}
