using System.Globalization;
using System.Text;

namespace Streamboot.Server.Boot;

/// <summary>
/// The boot's key as an initramfs piece: a cpio archive (the kernel's
/// "newc" format) holding <c>etc/streamboot/boot.key</c>, mode 0600. iPXE
/// loads it after the vDisk's own initrd and the kernel unpacks both into
/// the initramfs, so the key reaches the client boot component without
/// ever being on the kernel command line, which every user of the running
/// OS can read in <c>/proc/cmdline</c>. With NBD over TLS it also carries the
/// site CA (<c>etc/streamboot/ca-cert.pem</c>), which the client checks the
/// server against.
/// </summary>
public static class KeyArchive
{
    public const string FileName = "streamboot-key.cpio";
    public const string PathInInitramfs = "etc/streamboot/boot.key";
    public const string CaPathInInitramfs = "etc/streamboot/ca-cert.pem";

    /// <summary>
    /// The piece for a boot of this server: with the site CA when NBD runs
    /// over TLS here. A key of the right form is all it takes: it only says
    /// back what it was told, and the CA is public.
    /// </summary>
    public static byte[] ForServer(string key, Configuration.StreambootOptions options)
    {
        var ca = Path.Combine(Security.SiteCertificates.Folder(options.Data!), Security.SiteCertificates.CaCertFile);
        var tlsOn = Nbd.NbdSettings.TryParseTls(options.Tls, out var tls) && tls != Protocols.Nbd.NbdTlsMode.Off;
        return Build(key, tlsOn && File.Exists(ca) ? File.ReadAllBytes(ca) : null);
    }

    public static byte[] Build(string key, byte[]? caCertificate = null)
    {
        using var archive = new MemoryStream();
        Entry(archive, "etc", 0x41ed, []);                  // drwxr-xr-x
        Entry(archive, "etc/streamboot", 0x41c0, []);       // drwx------
        Entry(archive, PathInInitramfs, 0x8180, Encoding.ASCII.GetBytes(key + "\n")); // -rw-------
        if (caCertificate is not null)
        {
            Entry(archive, CaPathInInitramfs, 0x81a4, caCertificate); // -rw-r--r--
        }

        Entry(archive, "TRAILER!!!", 0, []);
        return archive.ToArray();
    }

    private static void Entry(MemoryStream archive, string name, int mode, byte[] data)
    {
        var nameBytes = Encoding.ASCII.GetBytes(name + "\0");
        var header = new StringBuilder("070701");
        foreach (var field in new[] { 0, mode, 0, 0, mode == 0 ? 0 : 1, 0, data.Length, 0, 0, 0, 0, nameBytes.Length, 0 })
        {
            header.Append(field.ToString("x8", CultureInfo.InvariantCulture));
        }

        archive.Write(Encoding.ASCII.GetBytes(header.ToString()));
        archive.Write(nameBytes);
        Pad(archive);
        archive.Write(data);
        Pad(archive);
    }

    private static void Pad(MemoryStream archive)
    {
        while (archive.Length % 4 != 0)
        {
            archive.WriteByte(0);
        }
    }
}
