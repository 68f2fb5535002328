using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

/// <summary>
/// A collection. <see cref="TookUnknownFrom"/> is set on the answer of the
/// change that made it receive unknown machines: the collection that
/// received them until then (its policy no longer applies to them).
/// </summary>
public sealed record CollectionView(
    string Name,
    string? Description,
    string NamingPattern,
    UnknownDevicePolicy UnknownDevicePolicy,
    bool ReceivesUnknown,
    string? DefaultVDisk,
    int Devices,
    DateTime CreatedAt,
    BootProtocol? BootProtocol = null,
    BootLoader? BootLoader = null,
    string? TookUnknownFrom = null);
