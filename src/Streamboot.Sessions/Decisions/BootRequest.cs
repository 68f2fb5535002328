namespace Streamboot.Sessions.Decisions;

/// <summary>
/// What a booting client says about itself when it asks for its boot script:
/// iPXE fills in <c>${net0/mac}</c>, <c>${uuid}</c>, <c>${buildarch}</c> and
/// <c>${platform}</c>. <see cref="VDisk"/> is a choice made in a boot menu;
/// <see cref="Register"/> the vDisk an unknown client picked in the
/// registration menu.
/// </summary>
public sealed record BootRequest(
    string? Mac,
    string? RemoteAddress,
    string? Uuid = null,
    string? BuildArch = null,
    string? Platform = null,
    string? VDisk = null,
    string? Register = null);
