using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Streamboot.Storage.Formats.Raw;
using Streamboot.Storage.Tests.Support;

namespace Streamboot.Storage.Tests.Formats.Raw;

public sealed class RawModelTests
{
    private const long DiskSize = 1 << 20;

    [Property(MaxTest = 100)]
    public Property Raw_image_behaves_like_a_byte_array() =>
        Prop.ForAll(ModelHarness.Ops(DiskSize, 4096, reopen: true), ops =>
        {
            using var dir = new TempDirectory();
            var path = dir.File("disk.raw");
            RawImage.CreateSparse(path, DiskSize);
            var device = ModelHarness.Run(RawBlockDevice.Open(path, readOnly: false), new byte[DiskSize], ops, d =>
            {
                d.Close();
                return RawBlockDevice.Open(path, readOnly: false);
            });
            device.Close();
        });
}
