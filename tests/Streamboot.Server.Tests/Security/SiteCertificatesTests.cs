using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Streamboot.Server.Security;
using Streamboot.Testing;

namespace Streamboot.Server.Tests.Security;

/// <summary>The site's TLS certificates: made once, kept, renewed near their end, and clear words when they cannot be used.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SiteCertificatesTests : IDisposable
{
    private readonly TempFolder _data = new("streamboot-tls");

    public void Dispose() => _data.Dispose();

    private string Tls(string file) => Path.Combine(SiteCertificates.Folder(_data.Path), file);

    [Fact]
    public void The_first_load_makes_a_ca_and_a_server_certificate_it_signs_and_the_next_keeps_them()
    {
        var context = SiteCertificates.Load(_data.Path, null, null, out var made);
        Assert.NotNull(made);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Tls("server-key.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Tls("ca-key.pem")));
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Tls("ca-cert.pem")));
        var server = context.TargetCertificate;
        Assert.Equal(ca.Subject, server.Issuer);
        Assert.True(server.HasPrivateKey);
        using (var chain = new X509Chain())
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            Assert.True(chain.Build(server), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        }

        var names = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("localhost", names.EnumerateDnsNames());
        Assert.Contains(System.Net.IPAddress.Loopback, names.EnumerateIPAddresses());

        var before = File.ReadAllText(Tls("server-cert.pem"));
        SiteCertificates.Load(_data.Path, null, null, out var again);
        Assert.Null(again);
        Assert.Equal(before, File.ReadAllText(Tls("server-cert.pem")));
    }

    [Fact]
    public void A_server_certificate_near_its_end_is_made_again_by_the_same_ca()
    {
        SiteCertificates.Load(_data.Path, null, null, out _);
        var ca = File.ReadAllText(Tls("ca-cert.pem"));
        // Replace the server certificate with one of the CA's that ends in a week.
        using (var authority = X509Certificate2.CreateFromPemFile(Tls("ca-cert.pem"), Tls("ca-key.pem")))
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=old", key, HashAlgorithmName.SHA256);
            using var old = request.Create(authority, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(7), [1, 2, 3, 4]);
            File.WriteAllText(Tls("server-cert.pem"), old.ExportCertificatePem());
            File.WriteAllText(Tls("server-key.pem"), key.ExportPkcs8PrivateKeyPem());
        }

        var context = SiteCertificates.Load(_data.Path, null, null, out var made);
        Assert.NotNull(made);
        Assert.True(context.TargetCertificate.NotAfter > DateTime.Now.AddDays(300));
        Assert.Equal(ca, File.ReadAllText(Tls("ca-cert.pem")));
    }

    [Fact]
    public void Certificates_without_the_cas_key_are_not_silently_replaced()
    {
        SiteCertificates.Load(_data.Path, null, null, out _);
        File.Delete(Tls("ca-key.pem"));
        var e = Assert.Throws<SiteCertificateException>(() => SiteCertificates.Load(_data.Path, null, null, out _));
        Assert.Contains("ca-key.pem", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_admins_certificate_with_another_key_is_refused_in_words()
    {
        SiteCertificates.Load(_data.Path, null, null, out _);
        var e = Assert.Throws<SiteCertificateException>(() => SiteCertificates.FromFiles(Tls("server-cert.pem"), Tls("ca-key.pem")));
        Assert.Contains("server-cert.pem", e.Message, StringComparison.Ordinal);
        Assert.Throws<SiteCertificateException>(() => SiteCertificates.Load(_data.Path, Tls("server-cert.pem"), null, out _));
    }
}
