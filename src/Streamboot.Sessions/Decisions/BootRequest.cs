namespace Streamboot.Sessions.Decisions;

/// <summary>
/// What a booting client says about itself when it asks for its boot script:
/// iPXE fills in <c>${net0/mac}</c>, <c>${uuid}</c>, <c>${buildarch}</c> and
/// <c>${platform}</c>. <see cref="VDisk"/> is a choice made in a boot menu;
/// <see cref="Register"/> the vDisk an unknown client picked in the
/// registration menu. <see cref="Loader"/> says what asks: iPXE, or GRUB
/// of the Secure Boot chain (signed shim, signed GRUB), which loads only a
/// kernel and initrd; <see cref="SecureBoot"/> is what GRUB said of the
/// firmware (its <c>lockdown</c> variable), null when the loader cannot tell.
/// </summary>
public sealed record BootRequest(
    string? Mac,
    string? RemoteAddress,
    string? Uuid = null,
    string? BuildArch = null,
    string? Platform = null,
    string? VDisk = null,
    string? Register = null)
{
    public Data.Model.BootLoader Loader { get; init; } = Data.Model.BootLoader.Ipxe;

    public bool? SecureBoot { get; init; }
}
