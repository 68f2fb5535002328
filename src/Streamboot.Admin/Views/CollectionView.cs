using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

public sealed record CollectionView(
    string Name,
    string? Description,
    string NamingPattern,
    UnknownDevicePolicy UnknownDevicePolicy,
    string? DefaultVDisk,
    int Devices,
    DateTime CreatedAt);
