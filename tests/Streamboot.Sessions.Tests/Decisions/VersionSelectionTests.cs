using Streamboot.Data.Model;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Sessions.Tests.Decisions;

public class VersionSelectionTests
{
    private static readonly VDiskVersion[] s_chain =
    [
        new() { Number = 1, FileName = "a", Stage = VersionStage.Production },
        new() { Number = 2, FileName = "b", Stage = VersionStage.Production },
        new() { Number = 3, FileName = "c", Stage = VersionStage.Test },
        new() { Number = 4, FileName = "d", Stage = VersionStage.Maintenance },
    ];

    [Theory]
    [InlineData(DeviceType.Production, 2)]
    [InlineData(DeviceType.Test, 3)]
    [InlineData(DeviceType.Maintenance, 4)]
    public void Each_device_type_boots_its_version(DeviceType type, int expected) =>
        Assert.Equal(expected, VersionSelection.ForDevice(type, s_chain)?.Number);

    [Fact]
    public void Test_devices_boot_production_when_nothing_is_in_test() =>
        Assert.Equal(2, VersionSelection.ForDevice(DeviceType.Test, s_chain[..2])?.Number);
}
