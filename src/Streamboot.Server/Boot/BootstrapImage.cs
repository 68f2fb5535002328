using System.Globalization;
using System.Text;

namespace Streamboot.Server.Boot;

/// <summary>
/// The bootstrap medium for networks where PXE is not allowed (as PVS's Boot
/// Device Manager makes): one hybrid ISO that boots from CD or, written to a
/// USB stick, from USB, on BIOS and on UEFI machines, with Secure Boot on or
/// off. Each way in gets an address from whatever DHCP server the network
/// has (no PXE answer needed) and asks this server what to boot:
/// <code>
///   BIOS (El Torito BIOS entry; the isohybrid MBR on a stick):
///     ISOLINUX ── ipxe.lkrn + streamboot.ipxe ──► iPXE: DHCP, chain http://SERVER/boot.ipxe?mac=...
///   UEFI (El Torito EFI entry; the same FAT image as an EFI partition on a stick):
///     EFI/BOOT/BOOTX64.EFI = shim (Microsoft-signed) ──► EFI/BOOT/grubx64.efi = Debian's signed network GRUB
///       ──► grub/grub.cfg (this medium's): DHCP, then TFTP SERVER grub/grub.cfg (GrubScript.Bootstrap)
///       ──► streamboot/grub/on|off/MAC, as a PXE-booted Secure Boot machine does
/// </code>
/// UEFI machines get shim and GRUB whether Secure Boot is on or off. The
/// iPXE EFI build Debian 12 ships (1.0.0+git-20190125) runs no script it is
/// not built with: it predates iPXE's <c>autoexec.ipxe</c> (2021) and its
/// LoadOptions command line (2023), so started from a medium it would only
/// do PXE's own DHCP and find no boot file on such a network. GRUB does the
/// DHCP and asks this server by MAC instead, and the server's answer is the
/// same decision iPXE's boot script is (kernel boots over TFTP; a SAN-boot
/// vDisk is refused to GRUB with the reason).
/// </summary>
public static class BootstrapImage
{
    /// <summary>Where Debian keeps what the image is made of, and the package each comes from.</summary>
    public static readonly IReadOnlyList<(string Path, string Package)> Parts =
    [
        ("/usr/lib/ipxe/ipxe.lkrn", "ipxe"),
        ("/usr/lib/ISOLINUX/isolinux.bin", "isolinux"),
        ("/usr/lib/ISOLINUX/isohdpfx.bin", "isolinux"),
        ("/usr/lib/syslinux/modules/bios/ldlinux.c32", "syslinux-common"),
        (Shim, "shim-signed"),
        (MokManager, "shim-helpers-amd64-signed"),
        (Grub, "grub-efi-amd64-signed"),
    ];

    /// <summary>The programs that make the image, and the package each comes from.</summary>
    public static readonly IReadOnlyList<(string Program, string Package)> Tools =
    [
        ("xorriso", "xorriso"),
        ("mkfs.fat", "dosfstools"),
        ("mmd", "mtools"),
        ("mcopy", "mtools"),
    ];

    /// <summary>The name of the EFI System Partition image in the ISO (the El Torito EFI entry, and the stick's EFI partition).</summary>
    public const string EfiImageName = "efiboot.img";

    /// <summary>Microsoft-signed shim: the only loader a Secure Boot PC with Microsoft's keys starts from a medium.</summary>
    private const string Shim = "/usr/lib/shim/shimx64.efi.signed";

    /// <summary>shim's MOK manager, which shim starts from beside itself when a key enrolment waits (mokutil --import).</summary>
    private const string MokManager = "/usr/lib/shim/mmx64.efi.signed";

    /// <summary>
    /// Debian's signed network GRUB: of the three signed builds it is the
    /// one with <c>tftp</c> (the CD build <c>gcdx64</c> and the installed
    /// system's <c>grubx64</c> carry <c>efinet</c> but no TFTP, and a locked
    /// down GRUB loads no module from outside its image). Its built-in
    /// prefix <c>/grub</c> is on the device it was started from: the ISO 9660
    /// file system from a CD (and from a stick where the firmware reads El
    /// Torito, as OVMF does), the EFI partition otherwise; both carry
    /// <c>grub/grub.cfg</c>.
    /// </summary>
    private const string Grub = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";

    /// <summary>GRUB numbers the NICs it finds efinet0, efinet1, ...; the medium's configuration looks at this many for the one DHCP answered on.</summary>
    private const int GrubCards = 8;

    /// <summary>The script the image runs: DHCP, then the server's boot script, retrying until the server answers.</summary>
    public static string Script(string baseUrl)
    {
        var s = new StringBuilder();
        s.AppendLine("#!ipxe");
        s.AppendLine(CultureInfo.InvariantCulture, $"# Streamboot bootstrap: boots from {baseUrl}");
        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot bootstrap: this medium boots from {baseUrl}");
        s.AppendLine(":retry");
        // DHCPv4 only: plain "dhcp" (ifconf with every configurator) also waits for IPv6
        // router advertisements, 13 s and more on a network that sends none.
        s.AppendLine("ifconf --configurator dhcp || goto nodhcp");
        s.AppendLine(CultureInfo.InvariantCulture, $"chain {IpxeScript.SelfDescribingUrl(baseUrl)} || goto noserver");
        s.AppendLine(":nodhcp");
        s.AppendLine("echo Streamboot bootstrap: no DHCP answer on this network; trying again in 5 s");
        s.AppendLine("sleep 5");
        s.AppendLine("goto retry");
        s.AppendLine(":noserver");
        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot bootstrap: cannot reach {baseUrl} (${{errno}}); trying again in 10 s");
        s.AppendLine("sleep 10");
        s.AppendLine("goto retry");
        return s.ToString();
    }

    /// <summary>
    /// The medium's GRUB configuration (UEFI): DHCP on whatever card gets an
    /// answer, then the server's own bootstrap over TFTP
    /// (<see cref="GrubScript.Bootstrap"/>, which asks for this machine's
    /// configuration by MAC and loops until it boots), retrying until the
    /// server answers. GRUB's <c>net_bootp</c> names the address it
    /// configures <c>efinetN:dhcp</c> and fills <c>net_efinetN_dhcp_mac</c>,
    /// but sets no default interface, so <c>$net_default_mac</c> (which the
    /// server's bootstrap asks with) is empty until this names one; and the
    /// site's DHCP server names no TFTP server, so this sets
    /// <c>$net_default_server</c> to the server the medium was made for.
    /// </summary>
    public static string GrubConfig(string baseUrl)
    {
        var server = new Uri(baseUrl).Host;
        var s = new StringBuilder();
        s.AppendLine("# Streamboot bootstrap medium, UEFI: shim started Debian's signed GRUB, which reads this.");
        s.AppendLine(CultureInfo.InvariantCulture, $"# DHCP from any DHCP server, then {server}'s GRUB bootstrap over TFTP (port 69).");
        s.AppendLine(CultureInfo.InvariantCulture, $"echo \"Streamboot bootstrap: this medium boots from {server} (GRUB, TFTP)\"");
        s.AppendLine("while true; do");
        s.AppendLine("  if net_bootp; then break; fi");
        s.AppendLine("  echo \"Streamboot bootstrap: no DHCP answer on this network; trying again in 5 s\"");
        s.AppendLine("  sleep 5");
        s.AppendLine("done");
        s.AppendLine("set net_default_interface=");
        for (var card = 0; card < GrubCards; card++)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"if [ -z \"$net_default_interface\" -a -n \"$net_efinet{card}_dhcp_mac\" ]; then set net_default_interface=efinet{card}_dhcp; fi");
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"set net_default_server={server}");
        s.AppendLine("while true; do");
        s.AppendLine("  set streamboot_menu=");
        s.AppendLine(CultureInfo.InvariantCulture, $"  source \"(tftp,{server})/{GrubScript.BootstrapPath}\"");
        s.AppendLine("  # The server's bootstrap returns only to show a menu it defined (GRUB draws it once this file ends).");
        s.AppendLine("  if [ -n \"$streamboot_menu\" ]; then break; fi");
        s.AppendLine(CultureInfo.InvariantCulture, $"  echo \"Streamboot bootstrap: cannot reach {server} over TFTP; trying again in 10 s\"");
        s.AppendLine("  sleep 10");
        s.AppendLine("done");
        return s.ToString();
    }

    /// <summary>What is missing on this machine to make the image, as one message, or null when everything is there.</summary>
    public static string? Missing()
    {
        var packages = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (path, package) in Parts)
        {
            if (!File.Exists(path))
            {
                packages.Add(package);
            }
        }

        foreach (var (program, package) in Tools)
        {
            if (ExternalProgram.Find(program) is null)
            {
                packages.Add(package);
            }
        }

        return packages.Count == 0 ? null : $"making a bootstrap image needs {string.Join(", ", packages)}; install with: apt-get install {string.Join(' ', packages)}";
    }

    /// <summary>Writes the image to <paramref name="output"/> (through a temporary file, so a failure leaves nothing half-written).</summary>
    public static async Task WriteAsync(string output, string baseUrl, CancellationToken cancellationToken = default)
    {
        if (Missing() is { } missing)
        {
            throw new InvalidOperationException(missing);
        }

        var work = Directory.CreateTempSubdirectory("streamboot-bootstrap-");
        var partial = output + ".partial";
        try
        {
            var tree = Directory.CreateDirectory(Path.Combine(work.FullName, "iso"));
            var isolinux = Directory.CreateDirectory(Path.Combine(tree.FullName, "isolinux"));
            File.Copy("/usr/lib/ISOLINUX/isolinux.bin", Path.Combine(isolinux.FullName, "isolinux.bin"));
            File.Copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", Path.Combine(isolinux.FullName, "ldlinux.c32"));
            File.Copy("/usr/lib/ipxe/ipxe.lkrn", Path.Combine(tree.FullName, "ipxe.lkrn"));
            await File.WriteAllTextAsync(Path.Combine(tree.FullName, "streamboot.ipxe"), Script(baseUrl), cancellationToken);
            await File.WriteAllTextAsync(
                Path.Combine(isolinux.FullName, "isolinux.cfg"),
                """
                SERIAL 0 115200
                DEFAULT streamboot
                PROMPT 0
                TIMEOUT 0
                LABEL streamboot
                  KERNEL /ipxe.lkrn
                  INITRD /streamboot.ipxe

                """,
                cancellationToken);
            var grubConfig = Path.Combine(Directory.CreateDirectory(Path.Combine(tree.FullName, "grub")).FullName, "grub.cfg");
            await File.WriteAllTextAsync(grubConfig, GrubConfig(baseUrl), cancellationToken);
            await WriteEfiImageAsync(Path.Combine(tree.FullName, EfiImageName), grubConfig, cancellationToken);

            await RunAsync("xorriso",
            [
                "-as", "mkisofs", "-quiet", "-o", partial, "-V", "STREAMBOOT",
                // BIOS: ISOLINUX from CD; from a stick, the isohybrid MBR starts it.
                "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                "-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin",
                // UEFI: the FAT image as El Torito's EFI entry, and as a partition (MBR type 0xef, and in a GPT) for a stick.
                "-eltorito-alt-boot", "-e", EfiImageName, "-no-emul-boot", "-isohybrid-gpt-basdat",
                tree.FullName,
            ], cancellationToken);
            File.Move(partial, output, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The EFI System Partition: a FAT file system made by mkfs.fat and
    /// filled by mtools (no loop mount, so no root), with shim at the
    /// removable-media path a firmware boots without a boot entry, GRUB and
    /// the MOK manager beside it where shim looks, and GRUB's configuration.
    /// </summary>
    private static async Task WriteEfiImageAsync(string image, string grubConfig, CancellationToken cancellationToken)
    {
        (string From, string To)[] files =
        [
            (Shim, "::/EFI/BOOT/BOOTX64.EFI"),
            (Grub, "::/EFI/BOOT/grubx64.efi"),
            (MokManager, "::/EFI/BOOT/mmx64.efi"),
            (grubConfig, "::/grub/grub.cfg"),
        ];

        // The files and a MiB for the file system's own tables, in whole MiB.
        var bytes = files.Sum(f => new FileInfo(f.From).Length) + (1L << 20);
        var kib = ((bytes + (1L << 20) - 1) >> 20) << 10;
        await RunAsync("mkfs.fat", ["-C", "-n", "STREAMBOOT", image, kib.ToString(CultureInfo.InvariantCulture)], cancellationToken);
        await RunAsync("mmd", ["-i", image, "::/EFI", "::/EFI/BOOT", "::/grub"], cancellationToken);
        foreach (var (from, to) in files)
        {
            await RunAsync("mcopy", ["-i", image, from, to], cancellationToken);
        }
    }

    private static async Task RunAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var path = ExternalProgram.Find(program) ?? throw new InvalidOperationException($"{program} is not installed");
        var (exitCode, _, error) = await ExternalProgram.RunAsync(path, arguments, cancellationToken);
        if (exitCode != 0)
        {
            throw new IOException($"{program} failed (exit {exitCode}): {error.Trim()}");
        }
    }
}
