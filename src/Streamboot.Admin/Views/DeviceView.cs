using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

public sealed record DeviceView(
    string Name,
    string Mac,
    Guid MachineId,
    string Collection,
    DeviceType Type,
    bool Enabled,
    WriteCacheMode? WriteCacheMode,
    bool PersistentWriteCache,
    string? IpAddress,
    string? Description,
    IReadOnlyList<DeviceAssignmentView> Assignments,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    BootLoader? BootLoader = null);
