using System.Collections.Concurrent;

namespace Streamboot.Storage.BootFiles;

/// <summary>
/// Signature checks of the kernels vDisks keep beside their images, against
/// one <see cref="SecureBootTrust"/> (read once, at the first check), each
/// file's verdict remembered until the file changes (its length or time of
/// last write), so a boot storm hashes each kernel once.
/// </summary>
public sealed class KernelSignatures(string shim, string? extraCertificates)
{
    /// <summary>Files remembered at most; past it the memory starts afresh.</summary>
    private const int MaxRemembered = 1024;

    private readonly Lazy<SecureBootTrust> _trust = new(() => SecureBootTrust.Load(shim, extraCertificates));
    private readonly ConcurrentDictionary<string, (long Length, DateTime Written, SignatureCheck Check)> _checked = new(StringComparer.Ordinal);

    public SecureBootTrust Trust => _trust.Value;

    public SignatureCheck Check(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return new SignatureCheck(SignatureVerdict.NotPe, "", "it does not exist");
        }

        var length = info.Length;
        var written = info.LastWriteTimeUtc;
        if (_checked.TryGetValue(path, out var known) && known.Length == length && known.Written == written)
        {
            return known.Check;
        }

        var check = Authenticode.Check(path, Trust);
        if (_checked.Count >= MaxRemembered)
        {
            _checked.Clear();
        }

        _checked[path] = (length, written, check);
        return check;
    }
}
