using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Formats.Qcow2;

/// <summary>Images written here are read by qemu, and images qemu writes are read here.</summary>
public sealed class Qcow2InteropTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(4096)]
    [InlineData(65536)]
    [InlineData(2 * 1024 * 1024)]
    public void Image_we_write_is_clean_and_reads_back_in_qemu_io(int clusterSize)
    {
        var path = _dir.File("a.qcow2");
        Qcow2Image.Create(path, 64L << 20, clusterSize);
        var image = Qcow2Image.Open(path, readOnly: false);
        image.Write(0, Filled(512, 0x11));
        image.Write(clusterSize - 100, Filled(300, 0x22));      // across a cluster boundary
        image.Write(10L << 20, Filled(3 * clusterSize, 0x33));
        image.Write(10L << 20, Filled(100, 0x44));               // overwrite in place
        image.Write((64L << 20) - 4096, Filled(4096, 0x55));    // last bytes of the disk
        image.Close();

        Qemu.CheckClean(path);
        Qemu.Io("-r", "-c", "read -P 0x11 0 512", "-c", "read -P 0 512 " + (clusterSize - 612), path);
        Qemu.Io("-r", "-c", $"read -P 0x22 {clusterSize - 100} 300", path);
        Qemu.Io("-r", "-c", $"read -P 0x44 {10 << 20} 100", "-c", $"read -P 0x33 {(10 << 20) + 100} {(3 * clusterSize) - 100}", path);
        Qemu.Io("-r", "-c", $"read -P 0x55 {(64 << 20) - 4096} 4096", path);
        var info = Qemu.Info(path);
        Assert.Equal("qcow2", info.GetProperty("format").GetString());
        Assert.Equal(64L << 20, info.GetProperty("virtual-size").GetInt64());
        Assert.Equal(clusterSize, info.GetProperty("cluster-size").GetInt32());
    }

    [Theory]
    [InlineData(65536, 64L << 20)]
    [InlineData(4096, 9L << 20)]            // several L2 tables and refcount blocks
    [InlineData(65536, (3L << 20) + 512)]   // a last cluster the disk ends inside
    public void A_preallocated_image_is_clean_fully_allocated_and_reads_zeroes_in_qemu(int clusterSize, long size)
    {
        var path = _dir.File("p.qcow2");
        Qcow2Image.Create(path, size, clusterSize, preallocate: true);

        Qemu.CheckClean(path);
        var info = Qemu.Info(path);
        Assert.Equal(size, info.GetProperty("virtual-size").GetInt64());
        // Every cluster has its place in the file: qemu maps the whole disk as data.
        var map = System.Text.Json.JsonDocument.Parse(Qemu.Img("map", "--output=json", "-f", "qcow2", path)).RootElement;
        Assert.All(map.EnumerateArray(), extent => Assert.True(extent.GetProperty("data").GetBoolean(), extent.ToString()));
        Assert.Equal(size, map.EnumerateArray().Sum(e => e.GetProperty("length").GetInt64()));
        Assert.True(new FileInfo(path).Length >= size, "the file holds every data cluster");
        Qemu.Io("-r", "-c", $"read -P 0 0 {size}", path);

        // Written data lands in place, without allocating anything new.
        var length = new FileInfo(path).Length;
        Qemu.Io("-c", $"write -P 0x5a {clusterSize} {clusterSize}", path);
        Assert.Equal(length, new FileInfo(path).Length);
        var image = Qcow2Image.Open(path, readOnly: true);
        Assert.All(image.Read(clusterSize, clusterSize), b => Assert.Equal(0x5a, b));
        Assert.All(image.Read(0, clusterSize), b => Assert.Equal(0, b));
        image.Close();
        Qemu.CheckClean(path);
    }

    [Fact]
    public void Image_qemu_io_writes_reads_back_here()
    {
        var path = _dir.File("q.qcow2");
        Qemu.Img("create", "-f", "qcow2", path, "16M");
        Qemu.Io("-c", "write -P 0xab 4096 70000", "-c", "write -P 0xcd 8M 1M", path);
        var image = Qcow2Image.Open(path, readOnly: true);
        Assert.All(image.Read(4096, 70000), b => Assert.Equal(0xab, b));
        Assert.All(image.Read(0, 4096), b => Assert.Equal(0, b));
        Assert.All(image.Read(8 << 20, 1 << 20), b => Assert.Equal(0xcd, b));
        image.Close();
    }

    private static byte[] Filled(int length, byte value)
    {
        var b = new byte[length];
        Array.Fill(b, value);
        return b;
    }
}
