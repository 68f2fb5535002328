namespace Streamboot.Storage.BootFiles;

/// <summary>What shim's verifier would say of an EFI program, as far as the server can tell.</summary>
public enum SignatureVerdict
{
    /// <summary>Signed by (a chain to) a trusted certificate, the signed hash matching the file.</summary>
    Trusted,

    /// <summary>No signature at all (a self-built kernel, or one whose signature was removed).</summary>
    Unsigned,

    /// <summary>Signed, but by no key shim trusts.</summary>
    UntrustedSigner,

    /// <summary>Signed, but the file was changed after it was signed (the hash does not match).</summary>
    HashMismatch,

    /// <summary>Its hash or a certificate of its signature is in shim's revocations.</summary>
    Revoked,

    /// <summary>Not a PE image, or unreadable: GRUB cannot start it under Secure Boot either.</summary>
    NotPe,
}
