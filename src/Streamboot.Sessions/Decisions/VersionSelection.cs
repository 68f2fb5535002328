using Streamboot.Data.Model;

namespace Streamboot.Sessions.Decisions;

/// <summary>
/// Which version of a vDisk a device boots, by device type (as PVS does):
/// production devices the newest production version, test devices the newest
/// test or production version, maintenance devices the newest version of all
/// (the one in maintenance, when there is one).
/// </summary>
public static class VersionSelection
{
    public static VDiskVersion? ForDevice(DeviceType type, IEnumerable<VDiskVersion> versions)
    {
        var ordered = versions.OrderByDescending(v => v.Number);
        return type switch
        {
            DeviceType.Maintenance => ordered.FirstOrDefault(),
            DeviceType.Test => ordered.FirstOrDefault(v => v.Stage is VersionStage.Test or VersionStage.Production),
            _ => ordered.FirstOrDefault(v => v.Stage == VersionStage.Production),
        };
    }
}
