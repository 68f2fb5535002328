using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Tests.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Streamboot.Storage.WriteCaches;
using Xunit;

namespace Streamboot.Storage.Tests.WriteCaches;

/// <summary>
/// Each write cache over a read-only three-image chain behaves like a byte
/// array, and leaves the chain untouched.
/// </summary>
public sealed class WriteCacheModelTests
{
    [Property(MaxTest = 60)]
    public Property Server_disk_cache_behaves_like_a_byte_array() =>
        OverChain(4096, (lower, dir) => WriteCache.OnServerDisk(lower, dir.File("cache.bin")));

    [Property(MaxTest = 60)]
    public Property Ram_cache_spilling_to_disk_behaves_like_a_byte_array() =>
        OverChain(4096, (lower, dir) => WriteCache.InRam(lower, 64 << 10, dir.File("overflow.bin")));

    [Property(MaxTest = 40)]
    public Property Ram_cache_with_64k_blocks_behaves_like_a_byte_array() =>
        OverChain(65536, (lower, dir) => WriteCache.InRam(lower, 1 << 30, blockSize: 65536));

    [Property(MaxTest = 40)]
    public Property Qcow2_cache_behaves_like_a_byte_array() =>
        OverChain(65536, (lower, dir) => WriteCache.AsQcow2(lower, dir.File("cache.qcow2")));

    private static Property OverChain(int granule, Func<IBlockDevice, TempDirectory, IBlockDevice> makeCache) =>
        Prop.ForAll(ModelHarness.Ops(1 << 20, granule, reopen: false), ops =>
        {
            using var dir = new TempDirectory();
            var (top, model) = Qcow2ModelTests.MakeChain(dir);
            var original = (byte[])model.Clone();
            var chain = ImageChain.Open(top, readOnly: true);
            var cache = makeCache(chain, dir);
            ModelHarness.Run(cache, model, ops).Close();
            Assert.Equal(original, chain.Read(0, original.Length));
            chain.Close();
        });
}
