using Streamboot.Storage.BlockDevices;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.Formats.Raw;

public sealed class RawBlockDeviceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Extents_report_holes_and_data_and_trim_punches_holes()
    {
        var path = _dir.File("sparse.raw");
        RawImage.CreateSparse(path, 1 << 20);
        var device = RawBlockDevice.Open(path, readOnly: false);
        device.Write(65536, Sync.Pattern(4096, 1));
        var extents = new BlockExtent[8];
        var n = device.GetExtents(0, 1 << 20, extents);
        Assert.Equal(
            [new(0, 65536, ExtentFlags.Hole | ExtentFlags.Zero), new(65536, 4096, ExtentFlags.Data), new(69632, (1 << 20) - 69632, ExtentFlags.Hole | ExtentFlags.Zero)],
            extents.Take(n).ToArray());

        device.Trim(65536, 4096);
        n = device.GetExtents(0, 1 << 20, extents);
        Assert.Equal([new BlockExtent(0, 1 << 20, ExtentFlags.Hole | ExtentFlags.Zero)], extents.Take(n).ToArray());
        Assert.All(device.Read(65536, 4096), b => Assert.Equal(0, b));
        device.Close();
    }

    [Fact]
    public void Create_sparse_refuses_an_existing_file_and_allocates_nothing()
    {
        var path = _dir.File("disk.raw");
        RawImage.CreateSparse(path, 1L << 30);
        Assert.Equal(1L << 30, new FileInfo(path).Length);
        Assert.Throws<IOException>(() => RawImage.CreateSparse(path, 1 << 20));
        var device = RawBlockDevice.Open(path, readOnly: true);
        Assert.Equal(1L << 30, device.Size);
        Assert.Equal(BlockDeviceError.ReadOnly, Assert.Throws<BlockDeviceException>(() => device.Write(0, new byte[1])).Error);
        device.Close();
    }
}
