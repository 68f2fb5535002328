using System.Diagnostics;
using Streamboot.Storage.BootFiles;
using Streamboot.Storage.Tests.Support;
using Xunit;

namespace Streamboot.Storage.Tests.BootFiles;

/// <summary>
/// The kernel signature check against Debian's own signed binaries (the
/// host's kernel, shim-signed, grub-efi-amd64-signed) and sbsigntool, the
/// reference: what sbverify says with shim's certificate, the check says
/// too. A missing package fails the test with what to install.
/// </summary>
public sealed class AuthenticodeTests : IDisposable
{
    public const string Shim = "/usr/lib/shim/shimx64.efi.signed";
    public const string Grub = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Shim_trusts_the_Debian_Secure_Boot_CA_and_carries_its_revocations()
    {
        var trust = SecureBootTrust.Load(Need(Shim, "shim-signed"), null);

        Assert.Empty(trust.Problems);
        Assert.Contains(trust.Certificates, c => c.Subject == "CN=Debian Secure Boot CA");
        Assert.NotEmpty(trust.RevokedHashes);
    }

    [Fact]
    public void Debians_kernel_and_grub_are_trusted_as_sbverify_says()
    {
        var trust = SecureBootTrust.Load(Need(Shim, "shim-signed"), null);
        var kernel = Kernel();

        var check = Authenticode.Check(kernel, trust);

        Assert.True(check.Trusted, check.Detail);
        Assert.Contains("Debian Secure Boot Signer", check.Signers, StringComparison.Ordinal);
        Assert.Equal(0, SbVerify(trust, kernel));
        Assert.Equal(SignatureVerdict.Trusted, Authenticode.Check(Need(Grub, "grub-efi-amd64-signed"), trust).Verdict);
    }

    [Fact]
    public void A_kernel_without_its_signature_is_unsigned()
    {
        var trust = SecureBootTrust.Load(Need(Shim, "shim-signed"), null);
        var unsigned = _dir.File("vmlinuz");
        File.Copy(Kernel(), unsigned);
        Run("sbattach", "--remove", unsigned);

        var check = Authenticode.Check(unsigned, trust);

        Assert.Equal(SignatureVerdict.Unsigned, check.Verdict);
        Assert.NotEqual(0, SbVerify(trust, unsigned));
    }

    [Fact]
    public void A_kernel_changed_after_signing_does_not_match_its_signature()
    {
        var trust = SecureBootTrust.Load(Need(Shim, "shim-signed"), null);
        var changed = _dir.File("vmlinuz");
        File.Copy(Kernel(), changed);
        using (var file = File.OpenHandle(changed, FileMode.Open, FileAccess.ReadWrite))
        {
            Assert.True(PeImage.TryRead(file, out var image, out var error), error);
            var text = image!.Sections.First(s => s.RawSize > 4096);
            var one = new byte[1];
            RandomAccess.Read(file, one, text.RawPointer + 1000);
            one[0] ^= 0xff;
            RandomAccess.Write(file, one, text.RawPointer + 1000);
        }

        Assert.Equal(SignatureVerdict.HashMismatch, Authenticode.Check(changed, trust).Verdict);
        Assert.NotEqual(0, SbVerify(trust, changed));
    }

    [Fact]
    public void A_kernel_signed_by_an_unknown_key_is_refused_until_its_certificate_is_added()
    {
        var key = _dir.File("mok.key");
        var cert = _dir.File("mok.pem");
        Run("openssl", "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=Lab MOK key", "-keyout", key, "-out", cert);
        var resigned = _dir.File("vmlinuz");
        File.Copy(Kernel(), resigned);
        Run("sbattach", "--remove", resigned);
        Run("sbsign", "--key", key, "--cert", cert, "--output", resigned, resigned);

        var refused = Authenticode.Check(resigned, SecureBootTrust.Load(Shim, null));
        Assert.Equal(SignatureVerdict.UntrustedSigner, refused.Verdict);
        Assert.Contains("CN=Lab MOK key", refused.Detail, StringComparison.Ordinal);

        var extra = Directory.CreateDirectory(_dir.File("certificates")).FullName;
        File.Copy(cert, Path.Combine(extra, "mok.pem"));
        var trust = SecureBootTrust.Load(Shim, extra);
        Assert.Empty(trust.Problems);
        Assert.True(Authenticode.Check(resigned, trust).Trusted);
    }

    [Fact]
    public void A_file_that_is_no_EFI_program_is_said_to_be_one_GRUB_cannot_start()
    {
        var text = _dir.File("vmlinuz");
        File.WriteAllText(text, "not a kernel\n");

        var check = Authenticode.Check(text, SecureBootTrust.Load(Shim, null));

        Assert.Equal(SignatureVerdict.NotPe, check.Verdict);
        Assert.Contains("MZ", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Kernel_checks_are_remembered_until_the_file_changes()
    {
        var kernel = _dir.File("vmlinuz");
        File.Copy(Kernel(), kernel);
        var signatures = new KernelSignatures(Shim, null);
        Assert.True(signatures.Check(kernel).Trusted);

        Run("sbattach", "--remove", kernel);

        Assert.Equal(SignatureVerdict.Unsigned, signatures.Check(kernel).Verdict);
        Assert.Equal(SignatureVerdict.NotPe, signatures.Check(_dir.File("missing")).Verdict);
    }

    /// <summary>The newest Debian kernel on this machine (the test OS boots the same one).</summary>
    private static string Kernel()
    {
        var kernel = Directory.GetFiles("/boot", "vmlinuz-*").Order(StringComparer.Ordinal).LastOrDefault();
        Assert.True(kernel is not null, "no /boot/vmlinuz-*: apt-get install linux-image-amd64 (test.sh installs it)");
        return kernel;
    }

    private static string Need(string path, string package)
    {
        Assert.True(File.Exists(path), $"{path} is missing: apt-get install {package} (test.sh installs it)");
        return path;
    }

    /// <summary>sbverify with shim's own certificate, written out as PEM: its exit code (0: verified).</summary>
    private int SbVerify(SecureBootTrust trust, string file)
    {
        var pem = _dir.File("vendor.pem");
        File.WriteAllText(pem, trust.Certificates[0].ExportCertificatePem());
        return Run("sbverify", check: false, "--cert", pem, file);
    }

    private static int Run(string tool, params string[] args) => Run(tool, check: true, args);

    private static int Run(string tool, bool check, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is not installed: apt-get install sbsigntool openssl (test.sh installs them)", e);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(!check || process.ExitCode == 0, $"{tool} {string.Join(' ', args)} exited {process.ExitCode}: {errors}{output.Result}");
            return process.ExitCode;
        }
    }
}
