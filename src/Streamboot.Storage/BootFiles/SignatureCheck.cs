namespace Streamboot.Storage.BootFiles;

/// <summary>
/// The verdict on one file and the words for it: <see cref="Signers"/> names
/// who signed it (subjects of the signing certificates), <see cref="Detail"/>
/// what is wrong when it is not trusted.
/// </summary>
public sealed record SignatureCheck(SignatureVerdict Verdict, string Signers, string Detail)
{
    public bool Trusted => Verdict == SignatureVerdict.Trusted;
}
