using System.Buffers.Binary;
using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Formats.Qcow2;

/// <summary>Damaged or unsupported images fail loudly, naming the file and the problem.</summary>
public sealed class Qcow2BadInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Truncated_header_is_reported()
    {
        var path = _dir.File("short.qcow2");
        File.WriteAllBytes(path, [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3, 0, 0]);
        var e = Assert.Throws<BlockDeviceException>(() => Qcow2Image.Open(path, readOnly: true));
        Assert.Equal(BlockDeviceError.Corrupt, e.Error);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("shorter than a qcow2 header", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0x12345678u, "magic")]
    [InlineData(4, 4u, "version 4")]
    [InlineData(20, 30u, "cluster_bits 30")]
    [InlineData(32, 1u, "crypt_method")]
    [InlineData(36, 0u, "l1_size 0")]
    [InlineData(56, 0u, "refcount_table_clusters is 0")]
    public void Bad_header_field_is_reported(int offset, uint value, string expected)
    {
        var path = NewImage();
        Patch32(path, offset, value);
        var e = Assert.Throws<BlockDeviceException>(() => Qcow2Image.Open(path, readOnly: true));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1UL << 2, "0x4")]   // external data file
    [InlineData(1UL << 4, "0x10")]  // extended L2
    [InlineData(1UL << 9, "0x200")] // unknown
    public void Unknown_or_unsupported_incompatible_feature_is_refused(ulong bit, string expected)
    {
        var path = NewImage();
        Patch64(path, 72, bit);
        var e = Assert.Throws<BlockDeviceException>(() => Qcow2Image.Open(path, readOnly: true));
        Assert.Contains("incompatible feature bits " + expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dirty_image_opens_read_only_but_not_for_writing()
    {
        var path = NewImage();
        Patch64(path, 72, 1);
        Qcow2Image.Open(path, readOnly: true).Close();
        var e = Assert.Throws<BlockDeviceException>(() => Qcow2Image.Open(path, readOnly: false));
        Assert.Contains("dirty bit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void L1_entry_past_the_end_of_the_file_is_reported_on_read()
    {
        var path = NewImage(write: true);
        var l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(ReadAt(path, 40, 8));
        Patch64(path, l1, (1UL << 63) | (1UL << 40));
        var image = Qcow2Image.Open(path, readOnly: true);
        var e = Assert.Throws<BlockDeviceException>(() => image.Read(0, 512));
        Assert.Contains("past the end of the file", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        image.Close();
    }

    [Fact]
    public void L2_entry_past_the_end_of_the_file_is_reported_on_read()
    {
        var path = NewImage(write: true);
        var l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(ReadAt(path, 40, 8));
        var l2 = (long)(BinaryPrimitives.ReadUInt64BigEndian(ReadAt(path, l1, 8)) & 0x00ff_ffff_ffff_fe00UL);
        Patch64(path, l2, (1UL << 63) | (1UL << 41));
        var image = Qcow2Image.Open(path, readOnly: true);
        var e = Assert.Throws<BlockDeviceException>(() => image.Read(0, 512));
        Assert.Contains("past the end of the file", e.Message, StringComparison.Ordinal);
        image.Close();
    }

    [Fact]
    public void Backing_file_loop_is_reported()
    {
        Qemu.Img("create", "-f", "qcow2", "-u", "-b", "b.qcow2", "-F", "qcow2", _dir.File("a.qcow2"), "1M");
        Qemu.Img("create", "-f", "qcow2", "-u", "-b", "a.qcow2", "-F", "qcow2", _dir.File("b.qcow2"), "1M");
        var e = Assert.Throws<BlockDeviceException>(() => ImageChain.Open(_dir.File("a.qcow2"), readOnly: true));
        Assert.Contains("backing file loop", e.Message, StringComparison.Ordinal);
        Qemu.Img("create", "-f", "qcow2", "-u", "-b", "self.qcow2", "-F", "qcow2", _dir.File("self.qcow2"), "1M");
        e = Assert.Throws<BlockDeviceException>(() => ImageChain.Open(_dir.File("self.qcow2"), readOnly: true));
        Assert.Contains("backing file loop", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_backing_file_is_reported()
    {
        Qemu.Img("create", "-f", "qcow2", "-u", "-b", "gone.raw", "-F", "raw", _dir.File("top.qcow2"), "1M");
        var e = Assert.Throws<BlockDeviceException>(() => ImageChain.Open(_dir.File("top.qcow2"), readOnly: true));
        Assert.Contains("gone.raw", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Damaged_compressed_cluster_is_reported()
    {
        var source = _dir.File("source.raw");
        File.WriteAllBytes(source, Sync.Pattern(1 << 20, 1));
        var path = _dir.File("c.qcow2");
        Qemu.Img("convert", "-c", "-O", "qcow2", source, path);
        var length = new FileInfo(path).Length;
        // Overwrite the compressed data (everything after the metadata) with garbage.
        using (var f = File.OpenWrite(path))
        {
            f.Position = 5 * 65536;
            f.Write(Enumerable.Repeat((byte)0xff, (int)(length - f.Position)).ToArray());
        }

        var image = Qcow2Image.Open(path, readOnly: true);
        var e = Assert.Throws<BlockDeviceException>(() => image.Read(0, 1 << 20));
        Assert.Equal(BlockDeviceError.Corrupt, e.Error);
        Assert.Contains("compressed cluster", e.Message, StringComparison.Ordinal);
        image.Close();
    }

    [Fact]
    public void Random_garbage_never_crashes_the_parser_with_anything_but_a_clear_error()
    {
        var random = new Random(42);
        for (var i = 0; i < 300; i++)
        {
            var path = NewImage(write: true, name: $"fuzz{i}.qcow2");
            var bytes = File.ReadAllBytes(path);
            for (var k = 0; k < 4; k++)
            {
                bytes[random.Next(0, Math.Min(bytes.Length, 4 * 65536))] = (byte)random.Next(256);
            }

            File.WriteAllBytes(path, bytes);
            try
            {
                var image = Qcow2Image.Open(path, readOnly: true);
                _ = image.Read(0, (int)Math.Min(image.Size, 1 << 20));
                image.Close();
            }
            catch (BlockDeviceException)
            {
            }
        }
    }

    [Fact]
    public void Read_only_image_refuses_writes()
    {
        var image = Qcow2Image.Open(NewImage(), readOnly: true);
        Assert.True(image.Capabilities.HasFlag(BlockDeviceCapabilities.ReadOnly));
        var e = Assert.Throws<BlockDeviceException>(() => image.Write(0, new byte[512]));
        Assert.Equal(BlockDeviceError.ReadOnly, e.Error);
        e = Assert.Throws<BlockDeviceException>(() => image.Read(image.Size - 10, 20));
        Assert.Equal(BlockDeviceError.OutOfRange, e.Error);
        image.Close();
    }

    [Fact]
    public void An_image_open_for_writing_cannot_be_opened_again()
    {
        var path = NewImage();
        var writer = Qcow2Image.Open(path, readOnly: false);
        Assert.ThrowsAny<IOException>(() => Qcow2Image.Open(path, readOnly: false));
        Assert.ThrowsAny<IOException>(() => Qcow2Image.Open(path, readOnly: true));
        writer.Close();
        Qcow2Image.Open(path, readOnly: true).Close();
    }

    private string NewImage(bool write = false, string name = "x.qcow2")
    {
        var path = _dir.File(name);
        Qcow2Image.Create(path, 4 << 20);
        if (write)
        {
            var image = Qcow2Image.Open(path, readOnly: false);
            image.Write(0, Sync.Pattern(1 << 20, 2));
            image.Close();
        }

        return path;
    }

    private static byte[] ReadAt(string path, long offset, int length)
    {
        using var f = File.OpenRead(path);
        var b = new byte[length];
        f.Position = offset;
        f.ReadExactly(b);
        return b;
    }

    private static void Patch32(string path, long offset, uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        PatchBytes(path, offset, b);
    }

    private static void Patch64(string path, long offset, ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        PatchBytes(path, offset, b);
    }

    private static void PatchBytes(string path, long offset, byte[] bytes)
    {
        using var f = File.OpenWrite(path);
        f.Position = offset;
        f.Write(bytes);
    }
}
