using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace Streamboot.Storage.BootFiles;

/// <summary>
/// Checks an EFI program's Authenticode signature the way shim does before
/// GRUB may start a kernel under Secure Boot: a PKCS#7 SignedData in the
/// certificate table whose content (SpcIndirectDataContent) carries the
/// image's hash; the hash must match the file, the signer's signature must
/// verify, and the signer must chain to a trusted certificate (shim accepts
/// a chain that ends at any trusted certificate, a root or not, so this does
/// too) that nothing revokes. Times are not checked: UEFI has no trusted
/// clock, and neither does shim.
/// </summary>
public static class Authenticode
{
    /// <summary>SPC_INDIRECT_DATA_OBJID.</summary>
    private const string SpcIndirectData = "1.3.6.1.4.1.311.2.1.4";

    public static SignatureCheck Check(string path, SecureBootTrust trust)
    {
        ArgumentNullException.ThrowIfNull(trust);
        try
        {
            using var file = File.OpenHandle(path);
            return Check(file, trust);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new SignatureCheck(SignatureVerdict.NotPe, "", $"cannot be read: {e.Message}");
        }
    }

    private static SignatureCheck Check(Microsoft.Win32.SafeHandles.SafeFileHandle file, SecureBootTrust trust)
    {
        if (!PeImage.TryRead(file, out var image, out var error))
        {
            return new SignatureCheck(SignatureVerdict.NotPe, "", error);
        }

        var blobs = image!.Signatures(file);
        if (blobs.Count == 0)
        {
            return new SignatureCheck(SignatureVerdict.Unsigned, "", "it carries no signature");
        }

        var sha256 = image.AuthenticodeHash(file, HashAlgorithmName.SHA256);
        if (trust.RevokedHashes.Contains(Convert.ToHexStringLower(sha256)))
        {
            return new SignatureCheck(SignatureVerdict.Revoked, "", "its hash is in shim's list of revoked images");
        }

        var signers = new List<string>();
        var mismatch = false;
        foreach (var blob in blobs)
        {
            var cms = new SignedCms();
            try
            {
                cms.Decode(blob);
            }
            catch (CryptographicException)
            {
                continue;
            }

            if (cms.ContentInfo.ContentType.Value != SpcIndirectData || !TryReadDigest(cms.ContentInfo.Content, out var algorithm, out var digest))
            {
                continue;
            }

            var actual = algorithm == HashAlgorithmName.SHA256 ? sha256 : image.AuthenticodeHash(file, algorithm);
            if (!digest.AsSpan().SequenceEqual(actual))
            {
                mismatch = true;
                continue;
            }

            foreach (var signer in cms.SignerInfos)
            {
                if (signer.Certificate is not { } certificate)
                {
                    continue;
                }

                signers.Add(certificate.Subject);
                try
                {
                    // The signed attributes' messageDigest against the content, and the signature over them.
                    signer.CheckSignature(verifySignatureOnly: true);
                }
                catch (CryptographicException)
                {
                    continue;
                }

                if (ChainTo(certificate, cms.Certificates, trust, 0) is { } chain)
                {
                    if (chain.Any(c => trust.RevokedCertificates.Any(r => r.AsSpan().SequenceEqual(c.RawData))))
                    {
                        return new SignatureCheck(SignatureVerdict.Revoked, certificate.Subject, "a certificate of its signature is in shim's revocations");
                    }

                    return new SignatureCheck(SignatureVerdict.Trusted, certificate.Subject, $"signed by {certificate.Subject}, trusted through {chain[^1].Subject}");
                }
            }
        }

        var by = string.Join("; ", signers.Distinct(StringComparer.Ordinal));
        return signers.Count > 0
            ? new SignatureCheck(SignatureVerdict.UntrustedSigner, by, $"it is signed by {by}, which chains to none of the keys shim trusts ({trust.Describe()})")
            : mismatch
                ? new SignatureCheck(SignatureVerdict.HashMismatch, "", "it was changed after it was signed (its hash does not match its signature)")
                : new SignatureCheck(SignatureVerdict.UntrustedSigner, "", "its signature cannot be read as an Authenticode signature");
    }

    /// <summary>SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue, messageDigest DigestInfo }.</summary>
    private static bool TryReadDigest(ReadOnlyMemory<byte> content, out HashAlgorithmName algorithm, out byte[] digest)
    {
        algorithm = default;
        digest = [];
        try
        {
            var reader = new AsnReader(content, AsnEncodingRules.DER).ReadSequence();
            reader.ReadEncodedValue(); // data: the PE image data, nothing to check
            var digestInfo = reader.ReadSequence();
            var algorithmIdentifier = digestInfo.ReadSequence();
            var oid = algorithmIdentifier.ReadObjectIdentifier();
            digest = digestInfo.ReadOctetString();
            algorithm = oid switch
            {
                "2.16.840.1.101.3.4.2.1" => HashAlgorithmName.SHA256,
                "2.16.840.1.101.3.4.2.2" => HashAlgorithmName.SHA384,
                "2.16.840.1.101.3.4.2.3" => HashAlgorithmName.SHA512,
                "1.3.14.3.2.26" => HashAlgorithmName.SHA1,
                _ => default,
            };
            return algorithm != default;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    /// <summary>The certificates from <paramref name="certificate"/> to a trusted one, through those the signature carries; null when there is none.</summary>
    private static List<X509Certificate2>? ChainTo(X509Certificate2 certificate, X509Certificate2Collection carried, SecureBootTrust trust, int depth)
    {
        if (depth > 8)
        {
            return null;
        }

        if (trust.Certificates.Any(t => t.RawData.AsSpan().SequenceEqual(certificate.RawData)))
        {
            return [certificate];
        }

        foreach (var anchor in trust.Certificates)
        {
            if (anchor.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData) && SignedBy(certificate, anchor))
            {
                return [certificate, anchor];
            }
        }

        foreach (var issuer in carried)
        {
            if (!issuer.RawData.AsSpan().SequenceEqual(certificate.RawData)
                && issuer.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData)
                && SignedBy(certificate, issuer)
                && ChainTo(issuer, carried, trust, depth + 1) is { } rest)
            {
                return [certificate, .. rest];
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="issuer"/>'s key made <paramref name="certificate"/>'s signature (RSA, as UEFI keys are).</summary>
    private static bool SignedBy(X509Certificate2 certificate, X509Certificate2 issuer)
    {
        using var key = issuer.GetRSAPublicKey();
        if (key is null)
        {
            return false;
        }

        try
        {
            // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
            var reader = new AsnReader(certificate.RawData, AsnEncodingRules.DER).ReadSequence();
            var tbs = reader.ReadEncodedValue();
            var algorithm = reader.ReadSequence().ReadObjectIdentifier() switch
            {
                "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
                "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
                "1.2.840.113549.1.1.13" => HashAlgorithmName.SHA512,
                "1.2.840.113549.1.1.5" => HashAlgorithmName.SHA1,
                _ => default,
            };
            var signature = reader.ReadBitString(out _);
            return algorithm != default && key.VerifyData(tbs.Span, signature, algorithm, RSASignaturePadding.Pkcs1);
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException)
        {
            return false;
        }
    }
}
