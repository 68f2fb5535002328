using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

public sealed record VDiskView(
    string Name,
    string? Description,
    ImageFormat Format,
    long SizeBytes,
    AccessMode AccessMode,
    WriteCacheMode WriteCacheMode,
    string StorePath,
    IReadOnlyList<VDiskVersionView> Versions,
    IReadOnlyList<string> AssignedDevices,
    DateTime CreatedAt,
    bool AnonymousReads,
    BootProtocol? BootProtocol = null);
