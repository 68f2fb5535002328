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

    // Crafted header fields: each one is refused as a corrupt image (never an
    // ArgumentOutOfRangeException, an OverflowException or gigabytes of
    // tables allocated), by every way in (open read-only, open for writing,
    // the chain's description and size), and qemu-img check finds it damaged.
    [Fact]
    public void Backing_file_offset_that_wraps_past_2_pow_64_is_corrupt()
    {
        var path = NewImage();
        Patch64(path, 8, 0xffff_ffff_ffff_fff0UL);
        Patch32(path, 16, 32);
        AssertCorrupt(path, "backing file name");
    }

    [Fact]
    public void Backing_file_name_running_past_the_first_cluster_is_corrupt()
    {
        var path = NewImage();
        Patch64(path, 8, 65530);
        Patch32(path, 16, 10);
        AssertCorrupt(path, "backing file name");
    }

    [Fact]
    public void Backing_file_size_over_1023_is_corrupt()
    {
        var path = NewImage();
        Patch64(path, 8, 512);
        Patch32(path, 16, 1024);
        AssertCorrupt(path, "backing file name");
    }

    [Theory]
    [InlineData(0xffff_ffffu, "cluster_bits 4294967295")]
    [InlineData(8u, "cluster_bits 8")]
    [InlineData(22u, "cluster_bits 22")]
    public void Cluster_bits_outside_9_to_21_is_corrupt(uint value, string expected)
    {
        var path = NewImage();
        Patch32(path, 20, value);
        AssertCorrupt(path, expected);
    }

    [Fact]
    public void Size_beyond_a_signed_64_bit_offset_is_corrupt()
    {
        var path = NewImage();
        Patch64(path, 24, ulong.MaxValue);
        AssertCorrupt(path, "size");
    }

    [Fact]
    public void Size_the_l1_table_cannot_map_is_corrupt()
    {
        var path = NewImage();
        Patch64(path, 24, 1UL << 61);
        AssertCorrupt(path, "cannot map the virtual size");
    }

    [Fact]
    public void L1_size_above_qemus_32_MiB_table_is_corrupt()
    {
        // 4 Mi + 1 entries; the file is made long enough (sparse) to hold them,
        // so only the limit refuses it.
        var path = NewImage();
        var l1 = ReadHeaderField(path, 40);
        Patch32(path, 36, (4u << 20) + 1);
        Extend(path, (long)l1 + (((4L << 20) + 1) * 8));
        AssertCorrupt(path, "l1_size 4194305");
    }

    [Fact]
    public void L1_size_whose_table_is_2_GiB_is_corrupt_without_allocating_it()
    {
        var path = NewImage();
        var l1 = ReadHeaderField(path, 40);
        Patch32(path, 36, 1u << 28);
        Extend(path, (long)l1 + (8L << 28));
        var before = GC.GetTotalAllocatedBytes(precise: true);
        AssertCorrupt(path, "l1_size 268435456", qemuToo: false);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20, "the table was refused before it was allocated");
    }

    [Theory]
    [InlineData(0x3fff_ffff_ffff_0000UL, "runs past the end of the file")]
    [InlineData(0xffff_ffff_ffff_0000UL, "l1_table_offset")]
    [InlineData(0x0000_0000_0003_0200UL, "not a non-zero multiple of the cluster size")]
    public void L1_table_offset_outside_the_file_or_unaligned_is_corrupt(ulong value, string expected)
    {
        var path = NewImage();
        Patch64(path, 40, value);
        AssertCorrupt(path, expected);
    }

    [Theory]
    [InlineData(0x3fff_ffff_ffff_0000UL, "runs past the end of the file")]
    [InlineData(0xffff_ffff_ffff_0000UL, "refcount_table_offset")]
    [InlineData(0x0000_0000_0001_0008UL, "not a non-zero multiple of the cluster size")]
    public void Refcount_table_offset_outside_the_file_or_unaligned_is_corrupt(ulong value, string expected)
    {
        var path = NewImage();
        Patch64(path, 48, value);
        AssertCorrupt(path, expected);
    }

    [Fact]
    public void Refcount_table_above_qemus_8_MiB_is_corrupt()
    {
        // 129 clusters of 64 KiB, in a file long enough (sparse) to hold them.
        var path = NewImage();
        var table = ReadHeaderField(path, 48);
        Patch32(path, 56, 129);
        Extend(path, (long)table + (129L << 16));
        AssertCorrupt(path, "refcount_table_clusters 129");
    }

    [Fact]
    public void Refcount_table_of_4_GiB_is_corrupt_without_allocating_it()
    {
        var path = NewImage();
        var table = ReadHeaderField(path, 48);
        Patch32(path, 56, 1u << 16);
        Extend(path, (long)table + (1L << 32));
        var before = GC.GetTotalAllocatedBytes(precise: true);
        AssertCorrupt(path, "refcount_table_clusters 65536", qemuToo: false);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20, "the table was refused before it was allocated");
    }

    [Theory]
    [InlineData(0xffff_ffffu)]
    [InlineData(7u)]
    public void Refcount_order_above_6_is_corrupt(uint value)
    {
        var path = NewImage();
        Patch32(path, 96, value);
        AssertCorrupt(path, "refcount_order");
    }

    [Theory]
    [InlineData(0xffff_ffffu)]
    [InlineData(65537u)]
    [InlineData(103u)]
    public void Header_length_outside_the_first_cluster_or_too_short_is_corrupt(uint value)
    {
        var path = NewImage();
        Patch32(path, 100, value);
        AssertCorrupt(path, "header_length");
    }

    [Theory]
    [InlineData(0xffff_fff8u)]
    [InlineData(65536u - 112 - 8 + 1)]
    public void Header_extension_running_past_the_first_cluster_is_corrupt(uint length)
    {
        // The extension area starts at header_length (112); a backing-format
        // extension whose length reaches past the cluster.
        var path = NewImage();
        Patch32(path, 112, (uint)Qcow2HeaderExtensionType.BackingFileFormat);
        Patch32(path, 116, length);
        AssertCorrupt(path, "header extension 0xe2792aca");
    }

    [Fact]
    public void Snapshot_count_above_qemus_65536_is_corrupt()
    {
        var path = NewImage();
        Patch32(path, 60, 65537);
        Patch64(path, 64, 0x30000);
        AssertCorrupt(path, "nb_snapshots 65537");
    }

    [Theory]
    [InlineData(0xffff_ffff_ffff_fe00UL, "snapshots_offset")]
    [InlineData(0x3fff_ffff_ffff_0000UL, "runs past the end of the file")]
    [InlineData(0UL, "not a non-zero multiple of the cluster size")]
    public void Snapshot_table_outside_the_file_is_corrupt(ulong offset, string expected)
    {
        var path = NewImage();
        Patch32(path, 60, 1);
        Patch64(path, 64, offset);
        AssertCorrupt(path, expected);
    }

    [Fact]
    public void Every_header_field_at_its_extremes_is_opened_or_refused_as_corrupt()
    {
        // Each 32- and 64-bit field of the version 3 header set to values that
        // break naive arithmetic: nothing but a Corrupt error may come out.
        ulong[] extremes = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, ulong.MaxValue];
        int[] fields32 = [4, 16, 20, 32, 36, 56, 60, 96, 100];
        int[] fields64 = [8, 24, 40, 48, 64, 72, 80, 88];
        var original = File.ReadAllBytes(NewImage(write: true, name: "original.qcow2"));
        var path = _dir.File("extreme.qcow2");
        foreach (var (offset, width) in fields32.Select(f => (f, 4)).Concat(fields64.Select(f => (f, 8))))
        {
            foreach (var value in extremes)
            {
                var bytes = (byte[])original.Clone();
                if (width == 4)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset), (uint)value);
                }
                else
                {
                    BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(offset), value);
                }

                File.WriteAllBytes(path, bytes);
                foreach (var readOnly in new[] { true, false })
                {
                    try
                    {
                        var image = Qcow2Image.Open(path, readOnly);
                        _ = image.Read(0, (int)Math.Min(image.Size, 1 << 20));
                        image.Close();
                    }
                    catch (BlockDeviceException)
                    {
                    }
                    catch (Exception e)
                    {
                        Assert.Fail($"field at {offset} = 0x{value:x}, {(readOnly ? "read-only" : "writable")}: {e.GetType().Name}: {e.Message}");
                    }
                }
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

    /// <summary>Every way in refuses the image as corrupt, naming the file and the field; qemu-img check finds it damaged too.</summary>
    private static void AssertCorrupt(string path, string expected, bool qemuToo = true)
    {
        var attempts = new (string What, Action Open)[]
        {
            ("open read-only", () => Qcow2Image.Open(path, readOnly: true).Close()),
            ("open for writing", () => Qcow2Image.Open(path, readOnly: false).Close()),
            ("ImageChain.Open", () => ImageChain.Open(path, readOnly: true).Close()),
            ("ImageChain.Describe", () => ImageChain.Describe(path)),
            ("ImageChain.ReadVirtualSize", () => ImageChain.ReadVirtualSize(path)),
        };
        foreach (var (what, open) in attempts)
        {
            var e = Record.Exception(open);
            Assert.True(e is BlockDeviceException { Error: BlockDeviceError.Corrupt }, $"{what}: {e?.GetType().Name ?? "no error"}: {e?.Message}");
            Assert.Contains(path, e!.Message, StringComparison.Ordinal);
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        }

        if (qemuToo)
        {
            // check rather than info: qemu opens a table past the end of the
            // file and only fails when it reads it.
            var (code, output, _) = Qemu.Run("qemu-img", "check", "-f", "qcow2", path);
            Assert.True(code != 0, $"qemu-img finds nothing wrong: {output}");
        }
    }

    private static ulong ReadHeaderField(string path, long offset) => BinaryPrimitives.ReadUInt64BigEndian(ReadAt(path, offset, 8));

    /// <summary>Makes the file at least this long, sparse: crafted tables must fit in the file to reach the limits.</summary>
    private static void Extend(string path, long length)
    {
        using var f = File.OpenWrite(path);
        if (f.Length < length)
        {
            f.SetLength(length);
        }
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
