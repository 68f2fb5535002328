namespace Streamboot.Server.Security;

/// <summary>The TLS certificates cannot be made or used; the message says what to fix.</summary>
public sealed class SiteCertificateException : Exception
{
    public SiteCertificateException(string message)
        : base(message)
    {
    }

    public SiteCertificateException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
