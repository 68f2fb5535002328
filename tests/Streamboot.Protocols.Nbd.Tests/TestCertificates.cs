using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// A throwaway CA and a server certificate for 127.0.0.1 and localhost, the
/// CA written as <c>ca-cert.pem</c> in <see cref="Folder"/>: the file name
/// libnbd (<c>tls-certificates=DIR</c>) and qemu (<c>tls-creds-x509,dir=DIR</c>) look for.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string folder, X509Certificate2 ca, X509Certificate2 server)
    {
        Folder = folder;
        Ca = ca;
        Server = server;
        Context = SslStreamCertificateContext.Create(server, [ca], offline: true);
    }

    public string Folder { get; }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    public SslStreamCertificateContext Context { get; }

    public static TestCertificates Create(string folder)
    {
        Directory.CreateDirectory(folder);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Streamboot test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var signed = request.Create(ca, now.AddHours(-1), now.AddDays(30), [1, 2, 3, 4, 5, 6, 7, 8]);
        var server = signed.CopyWithPrivateKey(serverKey);
        File.WriteAllText(Path.Combine(folder, "ca-cert.pem"), ca.ExportCertificatePem() + "\n");
        return new TestCertificates(folder, ca, server);
    }

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
    }
}
