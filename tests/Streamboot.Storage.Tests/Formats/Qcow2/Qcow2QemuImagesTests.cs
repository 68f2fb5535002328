using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Formats.Qcow2;

/// <summary>
/// Images made by qemu-img and qemu-io (backing chains, compressed clusters,
/// zero clusters, version 2, tiny refcount tables) read here exactly as qemu
/// reads them, and stay clean when written here.
/// </summary>
public sealed class Qcow2QemuImagesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("4096")]
    [InlineData("65536")]
    [InlineData("2M")]
    public void Compressed_image_from_qemu_img_convert_reads_like_its_source(string clusterSize)
    {
        var source = _dir.File("source.raw");
        var bytes = Sync.Pattern(5 << 20, 9);
        Array.Clear(bytes, 1 << 20, 300_000); // some clusters qemu leaves unallocated
        File.WriteAllBytes(source, bytes);
        var compressed = _dir.File("c.qcow2");
        Qemu.Img("convert", "-c", "-O", "qcow2", "-o", "cluster_size=" + clusterSize, source, compressed);

        var image = Qcow2Image.Open(compressed, readOnly: true);
        Assert.Equal(bytes, image.Read(0, bytes.Length));
        Assert.Equal(bytes.AsSpan(4000, 70_000).ToArray(), image.Read(4000, 70_000));
        image.Close();
    }

    [Fact]
    public void Writing_over_compressed_clusters_keeps_the_image_clean()
    {
        var source = _dir.File("source.raw");
        var bytes = Sync.Pattern(3 << 20, 5);
        File.WriteAllBytes(source, bytes);
        var path = _dir.File("c.qcow2");
        Qemu.Img("convert", "-c", "-O", "qcow2", source, path);

        var image = Qcow2Image.Open(path, readOnly: false);
        var patch = Sync.Pattern(100_000, 200);
        image.Write(70_000, patch);
        patch.CopyTo(bytes, 70_000);
        image.Trim(1 << 20, 1 << 20);
        Array.Clear(bytes, 1 << 20, 1 << 20);
        image.Close();

        Qemu.CheckClean(path);
        Qcow2ModelTests.CompareWithQemu(path, bytes, _dir);
    }

    [Fact]
    public void Chain_made_by_qemu_reads_like_qemu_converts_it()
    {
        var basePath = _dir.File("base.qcow2");
        Qemu.Img("create", "-f", "qcow2", basePath, "8M");
        Qemu.Io("-c", "write -P 0x11 0 8M", basePath);
        Qemu.Img("create", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "base.qcow2", "-F", "qcow2", _dir.File("v1.qcow2"));
        Qemu.Io("-c", "write -P 0x22 1M 100k", "-c", "write -z 3M 1M", "-c", "write -z -u 5M 64k", _dir.File("v1.qcow2"));
        Qemu.Img("create", "-f", "qcow2", "-o", "cluster_size=2M", "-b", "v1.qcow2", "-F", "qcow2", _dir.File("v2.qcow2"));
        Qemu.Io("-c", "write -P 0x33 1100k 3000", "-c", "write -z 6M 2M", _dir.File("v2.qcow2"));

        var expected = QemuView(_dir.File("v2.qcow2"));
        var chain = ImageChain.Open(_dir.File("v2.qcow2"), readOnly: true);
        Assert.Equal(8L << 20, chain.Size);
        Assert.Equal(expected, chain.Read(0, (int)chain.Size));
        Assert.All(chain.Read(3 << 20, 1 << 20), b => Assert.Equal(0, b));
        chain.Close();
        Assert.Equal(3, ImageChain.Describe(_dir.File("v2.qcow2")).Count);
    }

    [Fact]
    public void Zero_clusters_written_by_qemu_io_hide_the_backing_file()
    {
        var basePath = _dir.File("base.raw");
        File.WriteAllBytes(basePath, Sync.Pattern(2 << 20, 1));
        Qemu.Img("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", _dir.File("top.qcow2"));
        Qemu.Io("-c", "write -z 65536 131072", "-c", "write -z -u 524288 65536", _dir.File("top.qcow2"));
        var image = Qcow2Image.Open(_dir.File("top.qcow2"), readOnly: true);
        Assert.All(image.Read(65536, 131072), b => Assert.Equal(0, b));
        Assert.All(image.Read(524288, 65536), b => Assert.Equal(0, b));
        Assert.Equal(Sync.Pattern(2 << 20, 1).AsSpan(0, 65536).ToArray(), image.Read(0, 65536));
        image.Close();
    }

    [Fact]
    public void Version_2_image_reads_and_writes_clean()
    {
        var basePath = _dir.File("base.raw");
        var bytes = Sync.Pattern(1 << 20, 4);
        File.WriteAllBytes(basePath, bytes);
        var path = _dir.File("v2.qcow2");
        Qemu.Img("create", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.raw", "-F", "raw", path);
        Qemu.Io("-c", "write -P 0x44 4096 8192", path);
        bytes.AsSpan(4096, 8192).Fill(0x44);

        var image = Qcow2Image.Open(path, readOnly: false);
        Assert.Equal(2u, image.Header.Version);
        Assert.Equal(bytes, image.Read(0, bytes.Length));
        image.Zero(0, 3 << 16); // no zero flag in v2: written as zeroes over the backing file
        Array.Clear(bytes, 0, 3 << 16);
        image.Write(500_000, Sync.Pattern(70_000, 8));
        Sync.Pattern(70_000, 8).CopyTo(bytes, 500_000);
        image.Close();
        Qemu.CheckClean(path);
        Qcow2ModelTests.CompareWithQemu(path, bytes, _dir);
    }

    [Fact]
    public void Refcount_table_grows_when_qemu_made_it_small()
    {
        // 512-byte clusters: one refcount block counts 128 KiB and qemu's one
        // refcount-table cluster covers 8 MiB of file, so 16 MiB of data must
        // move the table.
        var path = _dir.File("small.qcow2");
        Qemu.Img("create", "-f", "qcow2", "-o", "cluster_size=512", path, "24M");
        var before = Qemu.Info(path);
        var image = Qcow2Image.Open(path, readOnly: false);
        var data = Sync.Pattern(16 << 20, 6);
        image.Write(0, data);
        image.Flush();
        image.Write(20 << 20, data.AsSpan(0, 1 << 20).ToArray());
        image.Close();
        Qemu.CheckClean(path);
        var model = new byte[24 << 20];
        data.CopyTo(model, 0);
        data.AsSpan(0, 1 << 20).CopyTo(model.AsSpan(20 << 20));
        Qcow2ModelTests.CompareWithQemu(path, model, _dir);
        Assert.Equal("qcow2", before.GetProperty("format").GetString());
    }

    [Fact]
    public void Qemu_reads_a_chain_we_create_and_qemu_img_compare_agrees()
    {
        var basePath = _dir.File("base.qcow2");
        Qcow2Image.Create(basePath, 4 << 20);
        var b = Qcow2Image.Open(basePath, readOnly: false);
        b.Write(0, Sync.Pattern(4 << 20, 1));
        b.Close();
        Qcow2Image.Create(_dir.File("v1.qcow2"), 0, 4096, "base.qcow2");
        var v1 = ImageChain.Open(_dir.File("v1.qcow2"), readOnly: false);
        v1.Write(12345, Sync.Pattern(50_000, 2));
        v1.Trim(1 << 20, 1 << 20);
        v1.Close();
        Qcow2Image.Create(_dir.File("v2.qcow2"), 0, 65536, _dir.File("v1.qcow2"));
        var v2 = ImageChain.Open(_dir.File("v2.qcow2"), readOnly: false);
        v2.Write(3 << 20, Sync.Pattern(70_000, 3));
        var ours = v2.Read(0, 4 << 20);
        v2.Close();

        foreach (var f in new[] { "base.qcow2", "v1.qcow2", "v2.qcow2" })
        {
            Qemu.CheckClean(_dir.File(f));
        }

        var info = Qemu.Info(_dir.File("v2.qcow2"));
        Assert.Equal(_dir.File("v1.qcow2"), info.GetProperty("backing-filename").GetString());
        Assert.Equal("qcow2", info.GetProperty("backing-filename-format").GetString());
        Assert.Equal(ours, QemuView(_dir.File("v2.qcow2")));
        File.WriteAllBytes(_dir.File("ours.raw"), ours);
        Qemu.Img("compare", "-f", "qcow2", "-F", "raw", _dir.File("v2.qcow2"), _dir.File("ours.raw"));
        Qemu.Io("-r", "-c", "read -P 0 1M 1M", _dir.File("v1.qcow2"));
    }

    private byte[] QemuView(string image)
    {
        var raw = _dir.File(Path.GetFileName(image) + ".view.raw");
        Qemu.Img("convert", "-O", "raw", image, raw);
        return File.ReadAllBytes(raw);
    }
}
