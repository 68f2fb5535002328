using Streamboot.Data.Model;

namespace Streamboot.Admin.Views;

/// <summary>
/// A device's last refused boot: what its screen was told and why.
/// <see cref="Current"/>: nothing of the device has started since (no
/// session began after it), so it is why the machine does not run now.
/// </summary>
public sealed record RefusedBootView(
    string Device,
    string Mac,
    string? VDisk,
    int? Version,
    string? Server,
    string? RemoteAddress,
    BootLoader Loader,
    string Reason,
    string Message,
    DateTime RefusedAt,
    bool Current);
