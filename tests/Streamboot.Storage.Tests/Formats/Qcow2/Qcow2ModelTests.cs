using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Tests.Support;

namespace Streamboot.Storage.Tests.Formats.Qcow2;

/// <summary>
/// Random operation sequences against a qcow2 image and a byte array. After
/// each sequence the image is closed and must pass <c>qemu-img check</c>.
/// 512-byte clusters put L2 table and refcount block boundaries every few
/// dozen KiB, so the small disks here cross many of them.
/// </summary>
public sealed class Qcow2ModelTests
{
    [Property(MaxTest = 60)]
    public Property Qcow2_512_byte_clusters_behaves_like_a_byte_array() => Standalone(512, 256 << 10);

    [Property(MaxTest = 60)]
    public Property Qcow2_4k_clusters_behaves_like_a_byte_array() => Standalone(4096, 1 << 20);

    [Property(MaxTest = 40)]
    public Property Qcow2_64k_clusters_behaves_like_a_byte_array() => Standalone(65536, (4 << 20) + 12800);

    [Property(MaxTest = 60)]
    public Property Qcow2_three_image_chain_behaves_like_a_byte_array() =>
        Prop.ForAll(ModelHarness.Ops(1 << 20, 4096, reopen: true), ops =>
        {
            using var dir = new TempDirectory();
            var (top, model) = MakeChain(dir);
            var device = ModelHarness.Run(ImageChain.Open(top, readOnly: false), model, ops, d =>
            {
                d.Close();
                return ImageChain.Open(top, readOnly: false);
            });
            device.Close();
            Qemu.CheckClean(top);
            CompareWithQemu(top, model, dir);
        });

    /// <summary>
    /// raw base (768 KiB, patterned) &lt;- qcow2 64 KiB clusters (some writes,
    /// some zeroes) &lt;- qcow2 4 KiB clusters of 1 MiB (empty): the top is
    /// bigger than the base, so its tail reads as zeroes.
    /// </summary>
    internal static (string Top, byte[] Model) MakeChain(TempDirectory dir)
    {
        var model = new byte[1 << 20];
        var basePath = dir.File("base.raw");
        RawImage.CreateSparse(basePath, 768 << 10);
        var raw = RawBlockDevice.Open(basePath, readOnly: false);
        var basePattern = Sync.Pattern(768 << 10, 3);
        raw.Write(0, basePattern);
        basePattern.CopyTo(model, 0);
        raw.Close();

        var mid = dir.File("mid.qcow2");
        Qcow2Image.Create(mid, 1 << 20, 65536, "base.raw", "raw");
        var midImage = Qcow2Image.Open(mid, readOnly: false);
        var midData = Sync.Pattern(100_000, 77);
        midImage.Write(50_000, midData);
        midData.CopyTo(model, 50_000);
        midImage.Zero(196608, 131072);
        Array.Clear(model, 196608, 131072);
        midImage.Close();

        var top = dir.File("top.qcow2");
        Qcow2Image.Create(top, 1 << 20, 4096, "mid.qcow2");
        return (top, model);
    }

    private static Property Standalone(int clusterSize, long size) =>
        Prop.ForAll(ModelHarness.Ops(size, clusterSize, reopen: true), ops =>
        {
            using var dir = new TempDirectory();
            var path = dir.File("disk.qcow2");
            Qcow2Image.Create(path, size, clusterSize);
            var model = new byte[size];
            // A cache of four L2 tables: with small clusters, flushes keep evicting.
            var device = ModelHarness.Run(OpenTiny(path), model, ops, d =>
            {
                d.Close();
                return OpenTiny(path);
            });
            device.Close();
            Qemu.CheckClean(path);
            CompareWithQemu(path, model, dir);
        });

    private static Qcow2Image OpenTiny(string path)
    {
        var image = Qcow2Image.Open(path, readOnly: false);
        image.MaxL2CacheBytes = 0;
        return image;
    }

    [Xunit.Fact]
    public async Task Read_only_image_with_a_tiny_l2_cache_reads_right_under_concurrency()
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        var bytes = Sync.Pattern(4 << 20, 31);
        File.WriteAllBytes(source, bytes);
        var path = dir.File("small-clusters.qcow2");
        Qemu.Img("convert", "-O", "qcow2", "-o", "cluster_size=512", source, path); // 128 L2 tables
        var image = Qcow2Image.Open(path, readOnly: true);
        image.MaxL2CacheBytes = 0;
        var readers = Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
        {
            var random = new Random(t);
            var buffer = new byte[5000];
            for (var i = 0; i < 3000; i++)
            {
                var offset = random.Next(0, bytes.Length - buffer.Length);
                await image.ReadAsync(offset, buffer);
                Xunit.Assert.True(buffer.AsSpan().SequenceEqual(bytes.AsSpan(offset, buffer.Length)), $"wrong bytes at {offset}");
            }
        })).ToArray();
        await Task.WhenAll(readers);
        image.Close();
    }

    /// <summary>qemu-img convert the image to raw and compare it with the model, byte for byte.</summary>
    internal static void CompareWithQemu(string image, byte[] model, TempDirectory dir)
    {
        var raw = dir.File("qemu-view.raw");
        File.Delete(raw);
        Qemu.Img("convert", "-O", "raw", image, raw);
        var bytes = File.ReadAllBytes(raw);
        Xunit.Assert.Equal(model.Length, bytes.Length);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != model[i])
            {
                throw new Xunit.Sdk.XunitException($"qemu reads byte {i} of {image} as {bytes[i]}, the model says {model[i]}");
            }
        }

    }
}
