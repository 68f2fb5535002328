using Streamboot.Data;
using Streamboot.Data.Model;
using Streamboot.Storage.BootFiles;

namespace Streamboot.Sessions.Decisions;

/// <summary>
/// What the Secure Boot chain (Microsoft-signed shim, Debian-signed GRUB)
/// can boot, checked when its GRUB asks for a device's configuration, after
/// the vDisk is chosen and before a boot is issued. GRUB loads a kernel and
/// initrds; it cannot SAN-boot a disk (iPXE's sanboot, over HTTP or iSCSI).
/// With Secure Boot on, shim lets GRUB start only a kernel signed by a key
/// it trusts; anything else stops at "bad shim signature" on the client's
/// screen, which nobody else sees. So the server checks the signature first
/// and refuses in words, on the screen, in the log and in <c>session list</c>.
/// </summary>
internal sealed class SecureBootChain(KernelSignatures signatures)
{
    public BootRefused? Refusal(BootRequest request, BootIdentity device, VDisk vdisk, VDiskVersion version, BootProtocol? protocol, string storeFolder)
    {
        if (request.Loader != BootLoader.SecureBoot)
        {
            return null;
        }

        var kernel = BootFileNames.KernelOf(storeFolder);
        var toIpxe = $"'streamboot device set {device.Name} --boot-loader ipxe' sends it iPXE instead (with Secure Boot off in its firmware)";
        if (protocol is BootProtocol.Iscsi or BootProtocol.Http)
        {
            return Refused(BootRefusal.LoaderCannotBoot, $"vDisk '{vdisk.Name}' boots by SAN boot over {KebabCase.Of(protocol.Value)}, which only iPXE does; the Secure Boot chain (shim, GRUB) loads a kernel and initrd. {toIpxe}");
        }

        if (!File.Exists(kernel))
        {
            return Refused(BootRefusal.LoaderCannotBoot, $"vDisk '{vdisk.Name}' has no kernel ({BootFileNames.Folder}/{BootFileNames.Kernel} beside its images), and the Secure Boot chain (shim, GRUB) cannot SAN-boot a whole disk; put the image's signed kernel and initrd there, or {toIpxe}");
        }

        if (request.SecureBoot != true)
        {
            // Secure Boot off: GRUB starts any kernel.
            return null;
        }

        var check = signatures.Check(kernel);
        return check.Trusted
            ? null
            : Refused(
                BootRefusal.KernelNotTrusted,
                $"Secure Boot is on and the kernel of vDisk '{vdisk.Name}' version {version.Number} ({BootFileNames.Folder}/{BootFileNames.Kernel}) would be refused by shim: {check.Detail}. Put a kernel signed by Debian there (the image's own /boot/vmlinuz-*), or add the certificate it is signed with to the server's Secure Boot certificates and enroll it in the machines' MOK list (docs/secure-boot.md)");

        BootRefused Refused(BootRefusal reason, string message) => new(reason, message) { Device = device, VDisk = vdisk.Name, Version = version.Number };
    }
}
