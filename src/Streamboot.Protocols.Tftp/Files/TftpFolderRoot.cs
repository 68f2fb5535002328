namespace Streamboot.Protocols.Tftp.Files;

/// <summary>
/// One folder a <see cref="TftpFolderSource"/> serves. Symbolic links that
/// resolve outside the folder are refused unless <see cref="AllowLinksOutside"/>:
/// a package's own folder (Debian's /usr/lib/ipxe links ipxe.efi to
/// /boot/ipxe.efi) may be trusted that way; a folder users fill may not.
/// </summary>
public sealed record TftpFolderRoot(string Path)
{
    public bool AllowLinksOutside { get; init; }
}
