using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

public sealed record SessionView(
    long Id,
    string? Device,
    string? Mac,
    string VDisk,
    int Version,
    string? Server,
    string Protocol,
    string? RemoteAddress,
    WriteCacheMode WriteCacheMode,
    DateTime StartedAt,
    DateTime LastActivityAt,
    DateTime? EndedAt,
    long BytesRead,
    long BytesWritten,
    long WriteCacheBytes);
