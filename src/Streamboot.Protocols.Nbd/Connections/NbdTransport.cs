using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// The byte stream under a connection: a socket the server accepted
/// (<see cref="NbdSocketStream"/>), TLS over it after NBD_OPT_STARTTLS (an
/// <see cref="SslStream"/>), or whatever stream a host handed in. It owns the
/// stream and its input buffer; the zero-copy READ path writes to the
/// accepted socket itself, never under TLS.
/// </summary>
internal sealed class NbdTransport : IAsyncDisposable
{
    private readonly NbdSocketStream? _socket;
    private Stream _stream;
    private int _disposed;

    public NbdTransport(Stream stream)
    {
        _stream = stream;
        _socket = stream as NbdSocketStream;
        Input = new NbdInput(stream);
    }

    public NbdInput Input { get; }

    public bool IsTls { get; private set; }

    /// <summary>The TLS version and cipher once TLS is up, for the log.</summary>
    public string? TlsDescription { get; private set; }

    /// <summary>The socket for zero-copy sends, or null (TLS, or a stream from a host).</summary>
    public NbdSocketStream? ZeroCopySocket => IsTls ? null : _socket;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        _stream.WriteAsync(data, cancellationToken);

    /// <summary>
    /// The TLS handshake right after NBD_REP_ACK to NBD_OPT_STARTTLS; from here
    /// every byte goes through TLS. Throws <see cref="AuthenticationException"/>
    /// or <see cref="IOException"/> when the client's handshake fails.
    /// </summary>
    public async ValueTask StartTlsAsync(SslStreamCertificateContext certificate, CancellationToken cancellationToken)
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = certificate,
                    ClientCertificateRequired = false,
                    // doc/proto.md: TLS 1.2 MUST be supported, older SHOULD NOT be by default.
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    AllowRenegotiation = false,
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _stream = tls;
        Input.SwitchTo(tls);
        IsTls = true;
        TlsDescription = $"{tls.SslProtocol} {tls.NegotiatedCipherSuite}";
    }

    /// <summary>
    /// Ends the connection now: reads and writes in progress and to come fail,
    /// which is how a stuck connection is ended. An accepted socket is shut
    /// down, not closed: its descriptor stays ours until the connection is disposed.
    /// </summary>
    public void Abort()
    {
        try
        {
            if (_socket is not null)
            {
                _socket.Socket.Shutdown(SocketShutdown.Both);
            }
            else
            {
                _stream.Dispose();
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException)
        {
        }

        Input.Dispose();
    }
}
