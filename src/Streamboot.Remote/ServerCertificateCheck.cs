using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Streamboot.Remote;

/// <summary>
/// Checks the server's HTTPS certificate: against the given CA certificates
/// (a Streamboot site's own CA, <c>DATA/tls/ca-cert.pem</c>) when there are
/// some, else as the system does; the name must match either way. Nothing is
/// ever accepted unchecked. It keeps why it refused a certificate, since the
/// TLS stack reports only that it did.
/// </summary>
internal sealed class ServerCertificateCheck(X509Certificate2Collection? trusted)
{
    public string? Refusal { get; private set; }

    /// <summary>The TLS handshake's callback (<see cref="RemoteCertificateValidationCallback"/>; the sender is the connection, which says nothing here).</summary>
    public bool Check(object _, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            Refusal = "it sent no certificate";
            return false;
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            Refusal = $"its certificate is not made out to the name in the URL (it names {Names(certificate)})";
            return false;
        }

        if (trusted is null)
        {
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }

            Refusal = $"its certificate is not trusted by this system ({Status(chain)})";
            return false;
        }

        using var ours = new X509Chain();
        ours.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        ours.ChainPolicy.CustomTrustStore.AddRange(trusted);
        // A site's own CA publishes no revocation list; the chain to it is what proves the server.
        ours.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                ours.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (ours.Build(AsX509Certificate2(certificate)))
        {
            return true;
        }

        Refusal = $"its certificate does not chain to the given CA ({Status(ours)})";
        return false;
    }

    /// <summary>The TLS stack hands over an <see cref="X509Certificate2"/>; a copy only if not (and then one the collector frees).</summary>
    private static X509Certificate2 AsX509Certificate2(X509Certificate certificate) =>
        certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());

    private static string Status(X509Chain? chain)
    {
        var statuses = chain?.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct().ToList() ?? [];
        return statuses.Count == 0 ? "no chain to a trusted root" : string.Join("; ", statuses);
    }

    private static string Names(X509Certificate certificate)
    {
        var x509 = AsX509Certificate2(certificate);
        var san = x509.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        var names = san is null ? [] : san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(a => a.ToString())).ToList();
        return names.Count == 0 ? x509.Subject : string.Join(", ", names.Take(8));
    }
}
