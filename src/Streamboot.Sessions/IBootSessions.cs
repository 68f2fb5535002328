using Streamboot.Sessions.Decisions;
using Streamboot.Sessions.Views;

namespace Streamboot.Sessions;

/// <summary>
/// What every protocol front end asks of the session layer (the HTTP boot
/// script, NBD, the HTTP disk, iSCSI, and other servers of a farm). A boot
/// goes through it in four steps:
/// <list type="number">
/// <item><b>decide</b> (<see cref="DecideAsync"/>): which vDisk, under which
/// identity; a decision to boot issues the boot's key and changes nothing a
/// running client depends on;</item>
/// <item><b>begin</b>: the first <see cref="OpenAsync"/> with that key starts
/// the boot (the device's previous boot ends, its write cache is discarded);</item>
/// <item><b>open a view</b> (<see cref="OpenAsync"/>): later opens with the key
/// join the boot's session, through reconnects and server restarts;</item>
/// <item><b>end</b>: disposing the last <see cref="SessionView"/> ends the session.</item>
/// </list>
/// Front ends translate between their wire and these calls; they decide nothing.
/// </summary>
public interface IBootSessions
{
    Task<BootDecision> DecideAsync(BootRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The boot loader DHCP sends this x64 UEFI machine (before it says
    /// anything else): iPXE, or the Secure Boot chain (signed shim and GRUB).
    /// </summary>
    Task<Data.Model.BootLoader> LoaderAsync(string mac, CancellationToken cancellationToken = default);

    Task<SessionResult<SessionView>> OpenAsync(ViewRequest request, CancellationToken cancellationToken = default);

    /// <summary>What <see cref="OpenAsync"/> would give, without opening anything or starting a boot (NBD_OPT_INFO).</summary>
    Task<SessionResult<ViewFacts>> DescribeAsync(ViewRequest request, CancellationToken cancellationToken = default);

    /// <summary>Who a running client is (<c>/boot/identity</c>), for images booted by their own boot loader.</summary>
    Task<SessionResult<DeviceIdentity>> IdentityAsync(IdentityRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The folder of a vDisk's boot files (kernel, initrd): open to anyone
    /// when the vDisk lends its read-only view to anyone, else only with the
    /// key of a boot of that vDisk.
    /// </summary>
    Task<SessionResult<string>> BootFilesAsync(BootFilesRequest request, CancellationToken cancellationToken = default);

    /// <summary>The views anyone may open (an NBD export listing).</summary>
    Task<IReadOnlyList<(string Name, string? Description)>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// For challenge-response logins (iSCSI CHAP), where the client proves it
    /// holds a key without sending it: the key of one of the device's boots
    /// of the vDisk that <paramref name="proves"/> accepts. Every candidate is
    /// tried (no early exit, so the time taken says nothing about which
    /// matched); the device must exist, be enabled and be assigned the vDisk.
    /// The key is then opened as <c>VDISK/DEVICE/KEY</c>. Keys are never logged.
    /// </summary>
    Task<SessionResult<string>> ProveKeyAsync(string vdisk, string device, Func<string, bool> proves, CancellationToken cancellationToken = default);
}

/// <summary>A client asks for a vDisk's kernel or initrd, with the key its boot script gave it.</summary>
public sealed record BootFilesRequest(string VDisk, string? Key);

/// <summary>
/// A client's OS asks who it is: by MAC, with its boot's key when it has one;
/// without, only from the address its running boot streams to.
/// </summary>
public sealed record IdentityRequest(string? Mac, string? Key, string? Remote);
