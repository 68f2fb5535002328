namespace Streamboot.Protocols.Dhcp.Boot;

/// <summary>File names of <see cref="DefaultDhcpBootPolicy"/>; the defaults are Debian's ipxe package's.</summary>
public sealed class DefaultDhcpBootPolicyOptions
{
    /// <summary>Legacy BIOS PXE ROMs (option 93 = 0): iPXE over the ROM's UNDI driver.</summary>
    public string? BiosBootFile { get; init; } = "undionly.kpxe";

    /// <summary>x64 UEFI (option 93 = 7 or 9); "snponly.efi" uses the firmware's own NIC driver instead of iPXE's.</summary>
    public string? EfiX64BootFile { get; init; } = "ipxe.efi";

    /// <summary>
    /// 32-bit UEFI (option 93 = 6). None by default: an x64 ipxe.efi cannot run
    /// there and Debian ships no i386 EFI build, so such machines are not booted
    /// unless a file is named.
    /// </summary>
    public string? EfiIa32BootFile { get; init; }

    /// <summary>
    /// Where a client already running iPXE gets its script. "{server}" becomes
    /// the answering server's address and "{mac}" the client's MAC address
    /// (aa:bb:cc:dd:ee:ff, as iPXE writes ${net0/mac}); iPXE itself expands
    /// settings such as ${uuid} in a DHCP file name before it fetches it.
    /// </summary>
    public string? IpxeScriptUrl { get; init; } = "http://{server}/boot.ipxe";
}
