using System.Net;
using System.Net.NetworkInformation;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Streamboot.Server.Security;

/// <summary>
/// The certificates NBD over TLS presents. Unless the admin names their own
/// (<c>--tls-cert</c>, <c>--tls-key</c>), the first start makes a site CA and
/// a server certificate it signs in <c>DATA/tls</c>, under the file names
/// qemu's <c>tls-creds-x509 dir=</c>, libnbd's <c>tls-certificates=DIR</c>
/// and GnuTLS tools expect: <c>ca-cert.pem</c> (what clients trust; copy it
/// to them), <c>server-cert.pem</c>, <c>server-key.pem</c>, and
/// <c>ca-key.pem</c>, which signs a new server certificate when the old one
/// nears its end. Keys are written 0600 in a 0700 folder.
/// </summary>
/// <remarks>
/// ECDSA P-256 keys: every TLS 1.2/1.3 client here (GnuTLS in libnbd, qemu
/// and nbd-client) takes them, and they are made in milliseconds where RSA
/// takes seconds at a server's first start. The server certificate names
/// the host's name, localhost and every address the host has at that time;
/// a client checks the name or address it connected to against them.
/// </remarks>
public static class SiteCertificates
{
    public const string CaCertFile = "ca-cert.pem";
    public const string CaKeyFile = "ca-key.pem";
    public const string ServerCertFile = "server-cert.pem";
    public const string ServerKeyFile = "server-key.pem";

    private static readonly TimeSpan s_caLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan s_serverLifetime = TimeSpan.FromDays(825);
    private static readonly TimeSpan s_renewBefore = TimeSpan.FromDays(30);

    /// <summary>Where the site's certificates live.</summary>
    public static string Folder(string dataFolder) => Path.Combine(dataFolder, "tls");

    /// <summary>
    /// The admin's certificate (PEM, with any chain after it) and key, or the
    /// site's own, made or renewed as needed. <paramref name="made"/> says
    /// what was written, for the log. Throws <see cref="SiteCertificateException"/>
    /// with a sentence saying what is wrong.
    /// </summary>
    public static SslStreamCertificateContext Load(string dataFolder, string? certificateFile, string? keyFile, out string? made)
    {
        made = null;
        if (certificateFile is not null || keyFile is not null)
        {
            if (certificateFile is null || keyFile is null)
            {
                throw new SiteCertificateException("give both --tls-cert and --tls-key (a certificate and its private key), or neither for the site's own");
            }

            return FromFiles(certificateFile, keyFile);
        }

        var folder = Folder(dataFolder);
        var caCert = Path.Combine(folder, CaCertFile);
        var caKey = Path.Combine(folder, CaKeyFile);
        var serverCert = Path.Combine(folder, ServerCertFile);
        var serverKey = Path.Combine(folder, ServerKeyFile);
        try
        {
            CreateFolder(folder);
            // Servers of a farm sharing one data folder may start together: one makes, the others wait and read.
            using var guard = Exclusive(Path.Combine(folder, ".lock"), TimeSpan.FromSeconds(60));
            if (!File.Exists(caCert) || !File.Exists(caKey))
            {
                if (File.Exists(caCert) || File.Exists(serverCert))
                {
                    throw new SiteCertificateException($"{folder} holds certificates but not the site CA's key ({CaKeyFile}); restore it, or move the folder away to make a new site CA (clients must then trust the new {CaCertFile})");
                }

                using var ca = CreateCa();
                WritePem(caCert, ca.ExportCertificatePem(), secret: false);
                WritePem(caKey, ca.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), secret: true);
                made = $"a site CA and a server certificate in {folder} (clients trust {caCert})";
            }

            using var authority = X509Certificate2.CreateFromPemFile(caCert, caKey);
            if (!File.Exists(serverCert) || !File.Exists(serverKey) || NeedsRenewal(serverCert, authority))
            {
                using var server = CreateServer(authority);
                WritePem(serverKey, server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), secret: true);
                WritePem(serverCert, server.ExportCertificatePem() + "\n" + authority.ExportCertificatePem(), secret: false);
                made ??= $"a new server certificate in {folder}, signed by the site CA";
            }

            return FromFiles(serverCert, serverKey);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new SiteCertificateException($"cannot make or read the site's TLS certificates in {folder}: {e.Message}", e);
        }
    }

    /// <summary>A certificate file (leaf first, then its chain) and the leaf's key.</summary>
    public static SslStreamCertificateContext FromFiles(string certificateFile, string keyFile)
    {
        foreach (var file in new[] { certificateFile, keyFile })
        {
            if (!File.Exists(file))
            {
                throw new SiteCertificateException($"{file} does not exist");
            }
        }

        try
        {
            var leaf = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            if (!leaf.HasPrivateKey)
            {
                throw new SiteCertificateException($"{keyFile} holds no private key for {certificateFile}");
            }

            if (leaf.NotAfter < DateTime.Now)
            {
                throw new SiteCertificateException($"the certificate in {certificateFile} expired on {leaf.NotAfter:yyyy-MM-dd}");
            }

            var chain = new X509Certificate2Collection();
            chain.ImportFromPemFile(certificateFile);
            var rest = new X509Certificate2Collection();
            foreach (var certificate in chain)
            {
                if (certificate.Thumbprint != leaf.Thumbprint)
                {
                    rest.Add(certificate);
                }
            }

            return SslStreamCertificateContext.Create(leaf, rest, offline: true);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // A key that is not the certificate's is an ArgumentException; anything unreadable a CryptographicException.
            throw new SiteCertificateException($"cannot use {certificateFile} with {keyFile} (PEM certificate and its private key): {e.Message}", e);
        }
    }

    private static X509Certificate2 CreateCa()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN=Streamboot site CA ({Dns.GetHostName()})"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now + s_caLifetime);
    }

    private static X509Certificate2 CreateServer(X509Certificate2 authority)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var host = Dns.GetHostName();
        var request = new CertificateRequest(new X500DistinguishedName($"CN={host}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // serverAuth
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in new[] { host, "localhost" }.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            names.AddDnsName(name);
        }

        foreach (var address in HostAddresses())
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + s_serverLifetime < authority.NotAfter ? now + s_serverLifetime : new DateTimeOffset(authority.NotAfter);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // a positive serial number
        using var signed = request.Create(authority, now.AddHours(-1), notAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Loopback and every unicast address the host has now.</summary>
    private static IEnumerable<IPAddress> HostAddresses()
    {
        var addresses = new HashSet<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    if (unicast.Address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 && !unicast.Address.IsIPv6LinkLocal)
                    {
                        addresses.Add(unicast.Address);
                    }
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Loopback only; the admin can give a certificate of their own.
        }

        return addresses;
    }

    /// <summary>Near its end, not signed by this CA, or unreadable: made again.</summary>
    private static bool NeedsRenewal(string serverCert, X509Certificate2 authority)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(serverCert));
            return certificate.NotAfter - DateTime.Now < s_renewBefore || certificate.Issuer != authority.Subject;
        }
        catch (CryptographicException)
        {
            return true;
        }
    }

    private static void CreateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
            return;
        }

        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Written whole under a temporary name, then renamed: a crash never leaves half a key; keys 0600 from their first byte.</summary>
    /// <summary>An exclusive hold on <paramref name="path"/> (flock, dropped with the process), waited for up to <paramref name="limit"/>.</summary>
    private static FileStream Exclusive(string path, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static void WritePem(string path, string pem, bool secret)
    {
        var temporary = $"{path}.{Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)}.new";
        File.Delete(temporary); // a leftover keeps its old mode; a new file gets ours
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        using (var file = new FileStream(temporary, options))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(pem);
            writer.Write('\n');
            writer.Flush();
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
