using System.Buffers.Binary;
using System.Security.Cryptography.X509Certificates;

namespace Streamboot.Storage.BootFiles;

/// <summary>
/// The keys a kernel must be signed with for shim to let GRUB start it, as
/// far as a server can know them: the certificate built into shim (its
/// <c>.vendor_cert</c> section: Debian's shim carries the Debian Secure Boot
/// CA, which signs Debian's GRUB and kernels) and its revocations (the same
/// section's <c>vendor_dbx</c>: image hashes and certificates shim refuses),
/// plus certificates an admin adds (keys enrolled in the machines' MOK list,
/// or the firmware's db). The firmware's own db and MOK lists live in each
/// machine and cannot be read from here.
/// </summary>
public sealed class SecureBootTrust
{
    /// <summary>EFI_CERT_SHA256_GUID (UEFI 2.10, 32.4.1): a revoked image's SHA-256 Authenticode hash.</summary>
    private static readonly Guid s_sha256 = new("c1c41626-504c-4092-aca9-41f936934328");

    /// <summary>EFI_CERT_X509_GUID: a DER certificate.</summary>
    private static readonly Guid s_x509 = new("a5c059a1-94e4-4aa7-87b5-ab155c2bf072");

    private SecureBootTrust(IReadOnlyList<X509Certificate2> certificates, IReadOnlySet<string> revokedHashes, IReadOnlyList<byte[]> revokedCertificates, IReadOnlyList<string> problems)
    {
        Certificates = certificates;
        RevokedHashes = revokedHashes;
        RevokedCertificates = revokedCertificates;
        Problems = problems;
    }

    /// <summary>The trusted certificates (a signature chains to one of them).</summary>
    public IReadOnlyList<X509Certificate2> Certificates { get; }

    /// <summary>SHA-256 Authenticode hashes shim refuses, lower-case hex.</summary>
    public IReadOnlySet<string> RevokedHashes { get; }

    /// <summary>Certificates shim refuses (DER).</summary>
    public IReadOnlyList<byte[]> RevokedCertificates { get; }

    /// <summary>What could not be read (a missing shim, a file in the folder that is no certificate), one sentence each.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>
    /// The trust of <paramref name="shim"/> (Debian's shim-signed:
    /// /usr/lib/shim/shimx64.efi.signed) and of the certificate files
    /// (PEM or DER) in <paramref name="extraFolder"/>, when it exists.
    /// </summary>
    public static SecureBootTrust Load(string shim, string? extraFolder)
    {
        var certificates = new List<X509Certificate2>();
        var revokedHashes = new HashSet<string>(StringComparer.Ordinal);
        var revokedCertificates = new List<byte[]>();
        var problems = new List<string>();
        try
        {
            using var file = File.OpenHandle(shim);
            if (!PeImage.TryRead(file, out var image, out var error))
            {
                problems.Add($"{shim}: {error}");
            }
            else if (image!.Section(file, ".vendor_cert") is not { Length: >= 16 } section)
            {
                problems.Add($"{shim} has no .vendor_cert section: it trusts only the firmware's keys, which this server cannot read; add the certificates its kernels are signed with to {extraFolder}");
            }
            else
            {
                // struct cert_table { vendor_authorized_size, vendor_deauthorized_size, vendor_authorized_offset, vendor_deauthorized_offset } (shim's cert.S)
                var authorizedSize = BinaryPrimitives.ReadUInt32LittleEndian(section);
                var deauthorizedSize = BinaryPrimitives.ReadUInt32LittleEndian(section.AsSpan(4));
                var authorizedOffset = BinaryPrimitives.ReadUInt32LittleEndian(section.AsSpan(8));
                var deauthorizedOffset = BinaryPrimitives.ReadUInt32LittleEndian(section.AsSpan(12));
                if ((long)authorizedOffset + authorizedSize > section.Length || (long)deauthorizedOffset + deauthorizedSize > section.Length)
                {
                    problems.Add($"{shim}: its .vendor_cert table points outside the section");
                }
                else
                {
                    var authorized = section.AsSpan((int)authorizedOffset, (int)authorizedSize);
                    if (authorized.Length > 0 && authorized[0] == 0x30)
                    {
                        // One DER certificate (shim built with VENDOR_CERT_FILE).
                        certificates.Add(X509CertificateLoader.LoadCertificate(authorized));
                    }
                    else
                    {
                        // EFI_SIGNATURE_LISTs (shim built with VENDOR_DB_FILE).
                        ReadSignatureLists(authorized, null, certificates, null);
                    }

                    ReadSignatureLists(section.AsSpan((int)deauthorizedOffset, (int)deauthorizedSize), revokedHashes, null, revokedCertificates);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            problems.Add($"{shim}: {e.Message} (apt-get install shim-signed)");
        }

        if (extraFolder is not null && Directory.Exists(extraFolder))
        {
            foreach (var path in Directory.EnumerateFiles(extraFolder).Order(StringComparer.Ordinal))
            {
                try
                {
                    certificates.Add(X509CertificateLoader.LoadCertificateFromFile(path));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
                {
                    problems.Add($"{path} is not a certificate (PEM or DER): {e.Message}");
                }
            }
        }

        return new SecureBootTrust(certificates, revokedHashes, revokedCertificates, problems);
    }

    /// <summary>The trusted certificates' subjects, for messages.</summary>
    public string Describe() => Certificates.Count == 0 ? "no certificate" : string.Join("; ", Certificates.Select(c => c.Subject));

    /// <summary>EFI_SIGNATURE_LIST entries (UEFI 2.10, 32.4.1): X.509 certificates and SHA-256 hashes; other types are skipped.</summary>
    private static void ReadSignatureLists(ReadOnlySpan<byte> lists, HashSet<string>? hashes, List<X509Certificate2>? certificates, List<byte[]>? rawCertificates)
    {
        while (lists.Length >= 28)
        {
            var type = new Guid(lists[..16]);
            var listSize = BinaryPrimitives.ReadUInt32LittleEndian(lists[16..]);
            var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(lists[20..]);
            var signatureSize = BinaryPrimitives.ReadUInt32LittleEndian(lists[24..]);
            if (listSize < 28 || listSize > lists.Length || signatureSize <= 16 || 28L + headerSize > listSize)
            {
                return;
            }

            var body = lists[(int)(28 + headerSize)..(int)listSize];
            for (var at = 0; at + signatureSize <= body.Length; at += (int)signatureSize)
            {
                var data = body.Slice(at + 16, (int)signatureSize - 16); // after SignatureOwner
                if (type == s_sha256 && data.Length == 32)
                {
                    hashes?.Add(Convert.ToHexStringLower(data));
                }
                else if (type == s_x509)
                {
                    rawCertificates?.Add(data.ToArray());
                    certificates?.Add(X509CertificateLoader.LoadCertificate(data));
                }
            }

            lists = lists[(int)listSize..];
        }
    }
}
