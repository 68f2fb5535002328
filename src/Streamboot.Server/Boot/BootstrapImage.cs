using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Streamboot.Server.Boot;

/// <summary>
/// The bootstrap medium for networks where PXE is not allowed (as PVS's Boot
/// Device Manager makes): a hybrid ISO that boots from CD or, written to a USB
/// stick, from USB. ISOLINUX loads iPXE (<c>ipxe.lkrn</c>) with a script as
/// its initrd; iPXE runs that script, which gets an address by DHCP (any
/// DHCP server, no PXE answer needed) and chains to this server's boot
/// script. BIOS only: the iPXE EFI build Debian ships cannot be given a
/// script without rebuilding it.
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
    ];

    /// <summary>The script the image runs: DHCP, then the server's boot script, retrying until the server answers.</summary>
    public static string Script(string baseUrl)
    {
        var s = new StringBuilder();
        s.AppendLine("#!ipxe");
        s.AppendLine(CultureInfo.InvariantCulture, $"# Streamboot bootstrap: boots from {baseUrl}");
        s.AppendLine(CultureInfo.InvariantCulture, $"echo Streamboot bootstrap: this medium boots from {baseUrl}");
        s.AppendLine(":retry");
        s.AppendLine("dhcp || goto nodhcp");
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

        if (ExternalProgram.Find("xorriso") is null)
        {
            packages.Add("xorriso");
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

            var start = new ProcessStartInfo(ExternalProgram.Find("xorriso")!)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                "-as", "mkisofs", "-quiet", "-o", partial, "-V", "STREAMBOOT",
                "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                "-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin",
                tree.FullName,
            })
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start xorriso");
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
            {
                throw new IOException($"xorriso failed (exit {process.ExitCode}): {(await stderr).Trim()}");
            }

            File.Move(partial, output, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
            work.Delete(recursive: true);
        }
    }
}
