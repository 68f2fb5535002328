using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

public sealed record CollectionView(
    string Name,
    string? Description,
    string NamingPattern,
    UnknownDevicePolicy UnknownDevicePolicy,
    bool ReceivesUnknown,
    string? DefaultVDisk,
    int Devices,
    DateTime CreatedAt,
    BootProtocol? BootProtocol = null);
