using System.Security.Cryptography.X509Certificates;

namespace Streamboot.Remote;

/// <summary>
/// A remote site: the server's base URL (<c>https://pvs1:8443</c>, a path
/// prefix allowed), the credentials (none: the server answers 401 and the
/// message says how to get some), the CA certificates its HTTPS certificate
/// must chain to (null: the system's), and the bounds of every request: the
/// time it may take and the bytes its answer may have.
/// </summary>
public sealed record RemoteSettings(Uri BaseUri, RemoteCredentials? Credentials, X509Certificate2Collection? TrustedCertificates, TimeSpan Timeout, long MaxResponseBytes)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    public const long DefaultMaxResponseBytes = 64L << 20;

    /// <summary>How often a long operation (import, merge, capture) is polled for its progress.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The server as messages name it: scheme, host and port.</summary>
    public string Server => BaseUri.GetLeftPart(UriPartial.Authority);
}
