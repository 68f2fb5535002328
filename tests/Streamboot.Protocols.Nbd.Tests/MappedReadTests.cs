using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.ReadCache;
using Streamboot.Storage.WriteCaches;
using Streamboot.Testing;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// Big READs whose bytes the device can map go out with sendfile(2)
/// (NbdServerOptions.ZeroCopyReads). Real clients read a qcow2 chain made by
/// qemu, whose ranges straddle data, zero, compressed and unallocated
/// clusters and the end of a shorter backing file, and must get what qemu
/// itself reads, with simple and structured replies.
/// </summary>
public sealed class MappedReadTests
{
    private const int MiB = 1024 * 1024;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Reads_across_every_kind_of_cluster_match_qemu(bool structured)
    {
        await using var server = NbdTestServer.Start();
        var expected = await MakeChainAsync(server);
        await Peers.CheckAsync("nbdsh", "libnbd-bin (and python3-libnbd)", "-c", $$"""
            import random, errno
            h.set_request_structured_replies({{(structured ? "True" : "False")}})
            h.connect_uri("{{server.Url("chain")}}")
            h.set_strict_mode(0)
            assert h.get_structured_replies_negotiated() == {{(structured ? "True" : "False")}}
            expected = open("{{expected}}", "rb").read()
            size = 8 * 1024 * 1024
            assert h.get_size() == size
            ranges = [
                (1024 * 1024 - 32768, 131072),        # raw base, then the mid image's data
                (2 * 1024 * 1024 - 65536, 524288),    # data, zero clusters, zero+unmapped
                (1100 * 1024 - 4096, 65536 + 8192),   # the top's 4 KiB clusters inside the mid's data
                (4 * 1024 * 1024 - 65536, 196608),    # a compressed cluster: copied, not mapped
                (6 * 1024 * 1024 - 131072, 262144),   # past the end of the raw base: zeroes
                (7 * 1024 * 1024 - 65536, 262144),    # data past the base's end
                (size - 65536, 65536),                # the last bytes of the disk
                (0, size),                            # all of it in one request
            ]
            rng = random.Random(11)
            for i in range(60):
                length = rng.randrange(65536, 1024 * 1024)
                ranges.append((rng.randrange(0, size - length), length))
            for offset, length in ranges:
                got = h.pread(length, offset)
                assert got == expected[offset:offset + length], (offset, length)
            # Many big reads in flight at once, replies in any order.
            buffers = [(nbd.Buffer(262144), (i * 262144 + 12345) % (size - 262144)) for i in range(48)]
            for b, offset in buffers:
                h.aio_pread(b, offset)
            while h.aio_in_flight() > 0:
                h.poll(-1)
            for b, offset in buffers:
                assert b.to_bytearray() == expected[offset:offset + 262144], offset
            if h.get_structured_replies_negotiated():
                chunks = []
                def chunk(buf, offset, status, err):
                    chunks.append((offset, status, len(buf)))
                    return 0
                assert h.pread_structured(524288, 3 * 1024 * 1024, chunk) == expected[3 * 1024 * 1024:3 * 1024 * 1024 + 524288]
                assert chunks == [(3 * 1024 * 1024, nbd.READ_DATA, 524288)], chunks
            # Past the end: an error, and the connection goes on.
            try:
                h.pread(131072, size - 65536)
                raise AssertionError("a read past the end succeeded")
            except nbd.Error as e:
                assert e.errnum == errno.EINVAL, e
            assert h.pread(131072, 65536) == expected[65536:65536 + 131072]
            h.shutdown()
            """);
        Assert.True(server.Provider.MappedReads > 60, $"only {server.Provider.MappedReads} reads went out mapped");
    }

    [Fact]
    public async Task Nbdcopy_and_qemu_img_compare_agree_with_qemu()
    {
        await using var server = NbdTestServer.Start();
        var expected = await MakeChainAsync(server);
        var copy = server.Folder.Combine("copy.raw");
        await Peers.NbdCopyAsync(server.Url("chain"), copy);
        Assert.True(PeerTests.FilesEqual(expected, copy), "nbdcopy of the chain differs from qemu's view");
        await QemuImg.RunAsync("compare", "-f", "raw", "-F", "raw", expected, server.Url("chain"));
        Assert.True(server.Provider.MappedReads > 0);
    }

    [Fact]
    public async Task With_zero_copy_off_every_read_is_copied_and_the_bytes_are_the_same()
    {
        await using var server = NbdTestServer.Start(new NbdServerOptions { ZeroCopyReads = false });
        var expected = await MakeChainAsync(server);
        var copy = server.Folder.Combine("copy.raw");
        await Peers.NbdCopyAsync(server.Url("chain"), copy);
        Assert.True(PeerTests.FilesEqual(expected, copy), "nbdcopy of the chain differs from qemu's view");
        Assert.Equal(0, server.Provider.MappedReads);
    }

    /// <summary>
    /// A qcow2 file that ends inside its last data cluster (the rest reads as
    /// zeroes): that cluster goes out with sendfile, padded to the length the
    /// reply header announced, and the stream stays in step.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_data_cluster_cut_short_by_the_end_of_the_file_reads_as_zeroes_past_it(bool structured)
    {
        await using var server = NbdTestServer.Start();
        var path = server.Folder.Combine("short.qcow2");
        Qcow2Image.Create(path, 4 * MiB);
        var data = NbdTestServer.Pattern(3 * 65536, 8);
        await using (var image = Qcow2Image.Open(path, readOnly: false))
        {
            await image.WriteAsync(MiB, data);
        }

        var length = new FileInfo(path).Length;
        await using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(length - 65536 + 1000); // the last of the three clusters keeps 1000 bytes
        }

        var expected = new byte[4 * MiB];
        data.AsSpan(0, (2 * 65536) + 1000).CopyTo(expected.AsSpan(MiB));
        var expectedPath = server.Folder.Combine("expected.raw");
        await File.WriteAllBytesAsync(expectedPath, expected);
        server.Provider.Add("short", path, readOnly: true);
        await Peers.CheckAsync("nbdsh", "libnbd-bin (and python3-libnbd)", "-c", $$"""
            h.set_request_structured_replies({{(structured ? "True" : "False")}})
            h.connect_uri("{{server.Url("short")}}")
            expected = open("{{expectedPath}}", "rb").read()
            for offset, length in [(1024 * 1024, 196608), (1024 * 1024 + 131072, 65536), (1024 * 1024 - 65536, 1024 * 1024), (0, 4 * 1024 * 1024)]:
                assert h.pread(length, offset) == expected[offset:offset + length], (offset, length)
            h.shutdown()
            """);
        Assert.True(server.Provider.MappedReads >= 4);
    }

    /// <summary>
    /// The stack a device's session streams (a qcow2 write-cache overlay over
    /// the shared read cache over the chain): once the cache holds a range, its
    /// reads go out from the cached blocks, mixed with the overlay's own
    /// clusters from its file, in one reply.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Session_stack_replies_mix_cached_blocks_and_the_overlays_clusters(bool structured)
    {
        await using var server = NbdTestServer.Start();
        var expected = await MakeChainAsync(server);
        var overlay = server.Folder.Combine("session.qcow2");
        server.Provider.Add("session", () =>
        {
            var shared = new SharedReadCache(ImageChain.Open(server.Folder.Combine("top.qcow2"), readOnly: true), 64 * MiB);
            Qcow2Image.Create(overlay, shared.Size);
            return new Stack(Qcow2Image.OpenOver(overlay, WriteCache.OnClientDisk(shared)), shared);
        });
        await Peers.CheckAsync("nbdsh", "libnbd-bin (and python3-libnbd)", "-c", $$"""
            import random
            h.set_request_structured_replies({{(structured ? "True" : "False")}})
            h.connect_uri("{{server.Url("session")}}")
            expected = bytearray(open("{{expected}}", "rb").read())
            size = len(expected)
            rng = random.Random(5)
            for i in range(12):
                length = rng.choice([4096, 65536, 70000, 200000])
                offset = rng.randrange(0, size - length)
                data = rng.randbytes(length)
                h.pwrite(data, offset)
                expected[offset:offset + length] = data
            ranges = [(0, size), (1024 * 1024 - 32768, 131072), (4 * 1024 * 1024 - 65536, 196608), (size - 65536, 65536)]
            for i in range(60):
                length = rng.randrange(65536, 1024 * 1024)
                ranges.append((rng.randrange(0, size - length), length))
            for rounds in range(2):   # the first fills the read cache, the second reads from it
                for offset, length in ranges:
                    assert h.pread(length, offset) == expected[offset:offset + length], (rounds, offset, length)
            h.shutdown()
            """);
        Assert.True(server.Provider.MappedReads > 60, $"only {server.Provider.MappedReads} reads went out mapped");
    }

    /// <summary>
    /// raw base (6 MiB of 8) &lt;- 64 KiB clusters: data, zero, zero+unmap,
    /// one compressed cluster &lt;- 4 KiB clusters: small writes and zeroes,
    /// data past the base's end. Exported read-only as "chain"; returns qemu's
    /// own raw view of it.
    /// </summary>
    private static async Task<string> MakeChainAsync(NbdTestServer server)
    {
        var folder = server.Folder;
        await File.WriteAllBytesAsync(folder.Combine("base.raw"), NbdTestServer.Pattern(6 * MiB, 5));
        await QemuImg.RunAsync("create", "-f", "qcow2", "-o", "cluster_size=65536", "-b", "base.raw", "-F", "raw", folder.Combine("mid.qcow2"), "8M");
        await QemuImg.IoAsync("qcow2", folder.Combine("mid.qcow2"), "write -P 0x11 1M 512k", "write -z 2M 256k", "write -z -u 2304k 64k", "write -c -P 0x33 4M 64k");
        await QemuImg.RunAsync("create", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "mid.qcow2", "-F", "qcow2", folder.Combine("top.qcow2"));
        await QemuImg.IoAsync("qcow2", folder.Combine("top.qcow2"), "write -P 0x22 1100k 20k", "write -z 5M 12k", "write -P 0x44 7M 100k");
        var expected = folder.Combine("expected.raw");
        await QemuImg.RunAsync("convert", "-f", "qcow2", "-O", "raw", folder.Combine("top.qcow2"), expected);
        server.Provider.Add("chain", folder.Combine("top.qcow2"), readOnly: true);
        return expected;
    }

    /// <summary>A session stack as one device: disposing it closes the overlay, then the shared layers below.</summary>
    private sealed class Stack(IBlockDevice top, IBlockDevice shared) : BlockDeviceFilter(top)
    {
        public override async ValueTask DisposeAsync()
        {
            await Next.DisposeAsync();
            await shared.DisposeAsync();
        }
    }
}
