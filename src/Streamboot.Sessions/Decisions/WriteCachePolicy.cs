using Streamboot.Data.Model;

namespace Streamboot.Sessions.Decisions;

/// <summary>Where a device's writes go when it streams a vDisk version: the one rule the boot script and the streaming session share.</summary>
internal static class WriteCachePolicy
{
    public static WriteCacheMode For(Device device, VDisk vdisk, VDiskVersion? version) =>
        vdisk.AccessMode == AccessMode.Private
            ? WriteCacheMode.None
            // A maintenance device writes into the version in maintenance itself.
            : device.Type == DeviceType.Maintenance && version?.Stage == VersionStage.Maintenance
                ? WriteCacheMode.None
                : device.WriteCacheMode ?? vdisk.WriteCacheMode;
}
