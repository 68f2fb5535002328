using Streamboot.Storage.Formats;
using Streamboot.Storage.Formats.Qcow2;
using Streamboot.Storage.Import;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Import;

public sealed class ImageImporterTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly byte[] _bytes;

    public ImageImporterTests()
    {
        _bytes = Sync.Pattern(6 << 20, 12);
        Array.Clear(_bytes, 2 << 20, 3 << 20); // a hole to skip
        File.WriteAllBytes(_dir.File("source.raw"), _bytes);
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("vpc", ImportFormat.Vhd)]
    [InlineData("vhdx", ImportFormat.Vhdx)]
    [InlineData("vmdk", ImportFormat.Vmdk)]
    [InlineData("vdi", ImportFormat.Vdi)]
    public async Task Foreign_formats_import_through_qemu_img_with_progress(string qemuFormat, ImportFormat expected)
    {
        var foreign = _dir.File("disk." + qemuFormat);
        Qemu.Img("convert", "-O", qemuFormat, _dir.File("source.raw"), foreign);
        Assert.Equal(expected, ImageImporter.Detect(foreign));

        var reports = new List<long>();
        var destination = _dir.File("imported.qcow2");
        await ImageImporter.ImportAsync(foreign, destination, ImageFormat.Qcow2, new SyncProgress(reports));

        Qemu.CheckClean(destination);
        var image = Qcow2Image.Open(destination, readOnly: true);
        Assert.True(image.Size >= _bytes.Length);
        Assert.Equal(_bytes, image.Read(0, _bytes.Length));
        image.Close();
        Assert.NotEmpty(reports);
        Assert.Equal(reports.Order().ToList(), reports);
        Assert.True(reports[^1] >= _bytes.Length);
    }

    [Fact]
    public async Task Qcow2_chain_imports_flattened_with_byte_progress()
    {
        Qcow2Image.Create(_dir.File("top.qcow2"), 0, 65536, "source.raw");
        var top = ImageChain.Open(_dir.File("top.qcow2"), readOnly: false);
        top.Write(100_000, Sync.Pattern(5000, 99));
        top.Close();
        var expected = (byte[])_bytes.Clone();
        Sync.Pattern(5000, 99).CopyTo(expected, 100_000);

        Assert.Equal(ImportFormat.Qcow2, ImageImporter.Detect(_dir.File("top.qcow2")));
        var reports = new List<long>();
        await ImageImporter.ImportAsync(_dir.File("top.qcow2"), _dir.File("flat.qcow2"), ImageFormat.Qcow2, new SyncProgress(reports));
        Qemu.CheckClean(_dir.File("flat.qcow2"));
        Assert.Null(Qemu.Info(_dir.File("flat.qcow2")).TryGetProperty("backing-filename", out _) ? "has backing" : null);
        var flat = Qcow2Image.Open(_dir.File("flat.qcow2"), readOnly: true);
        Assert.Equal(expected, flat.Read(0, expected.Length));
        flat.Close();
        Assert.Equal(_bytes.Length, reports[^1]);
        Assert.Equal(reports.Order().ToList(), reports);

        // The hole was skipped: the copy holds about 3 MiB of data, not 6.
        var actualSize = Qemu.Info(_dir.File("flat.qcow2")).GetProperty("actual-size").GetInt64();
        Assert.True(actualSize < (4 << 20), $"the flattened image occupies {actualSize} bytes");
    }

    [Fact]
    public async Task Raw_imports_to_raw()
    {
        await ImageImporter.ImportAsync(_dir.File("source.raw"), _dir.File("copy.raw"), ImageFormat.Raw);
        Assert.Equal(_bytes, File.ReadAllBytes(_dir.File("copy.raw")));
    }

    [Fact]
    public async Task Unreadable_foreign_image_fails_with_qemu_img_message()
    {
        File.WriteAllBytes(_dir.File("bad.vhdx"), [.. "vhdxfile"u8, .. new byte[4096]]);
        var e = await Assert.ThrowsAsync<ImageImportException>(() => ImageImporter.ImportAsync(_dir.File("bad.vhdx"), _dir.File("out.qcow2")));
        Assert.Contains("bad.vhdx", e.Message, StringComparison.Ordinal);
    }
}
