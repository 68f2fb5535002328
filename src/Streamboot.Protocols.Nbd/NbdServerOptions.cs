using System.Net.Security;

namespace Streamboot.Protocols.Nbd;

/// <summary>
/// Limits and tuning of an <see cref="NbdServer"/>. The defaults suit a boot
/// server: a site of 500 diskless clients never meets a limit, while a client
/// that misbehaves (replies it never reads, connections it never uses) holds
/// a bounded share of the server.
/// </summary>
public sealed class NbdServerOptions
{
    /// <summary>Requests one connection may have in flight before the server stops reading more (1 to 1024).</summary>
    public int MaxRequestsInFlight { get; init; } = 32;

    /// <summary>Largest READ/WRITE payload (NBD_INFO_BLOCK_SIZE maximum); 32 MiB is what clients assume.</summary>
    public int MaxPayloadSize { get; init; } = 32 * 1024 * 1024;

    /// <summary>Option data larger than this is skipped and answered NBD_REP_ERR_TOO_BIG.</summary>
    public int MaxOptionLength { get; init; } = 64 * 1024;

    /// <summary>A client must reach transmission (or leave) within this time, TLS handshake included.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connections beyond this are closed right after accept.</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>
    /// Connections one client address may have open at once; more are closed
    /// right after accept (and logged). A diskless client uses one to a few.
    /// </summary>
    public int MaxConnectionsPerAddress { get; init; } = 64;

    /// <summary>
    /// A connection in transmission with nothing in flight and no request for
    /// this long is closed (its session ends with IdleTimeout); the client
    /// connects again when it next needs the disk. <see cref="Timeout.InfiniteTimeSpan"/>
    /// or zero: never. Ten minutes leaves an idle diskless root alone: its
    /// kernel writes back and reads at least that often.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A connection with requests in flight of which none finishes for this
    /// long is closed (its session ends with Stalled): a client that does not
    /// take its replies would otherwise hold its share of the in-flight limits
    /// for ever. Two minutes is far beyond any reply to a live client (a
    /// 32 MiB reply at 10 Mbit/s takes 27 s). Infinite or zero: never.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Bytes one connection may hold in flight: READ replies not yet sent
    /// (whatever path they take) and WRITE payloads not yet written. Beyond it
    /// the server stops reading that connection's requests until replies have
    /// left. A single request larger than this still runs, alone.
    /// </summary>
    public long MaxInFlightBytesPerConnection { get; init; } = 32L * 1024 * 1024;

    /// <summary>
    /// Bytes in flight of all connections together, beyond each connection's
    /// <see cref="ReservedInFlightBytesPerConnection"/>: the bound on what N
    /// connections that never read their replies can make the server hold.
    /// Must fit one request of <see cref="MaxPayloadSize"/>.
    /// </summary>
    public long MaxInFlightBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>
    /// Bytes in flight every connection may hold whatever the others hold, so
    /// that connections that fill <see cref="MaxInFlightBytes"/> (and never
    /// read) cannot stall the rest: their requests of up to this size go on.
    /// </summary>
    public long ReservedInFlightBytesPerConnection { get; init; } = 1024L * 1024;

    /// <summary>SO_SNDBUF/SO_RCVBUF for accepted sockets; null keeps the kernel's autotuning.</summary>
    public int? SocketBufferSize { get; init; }

    /// <summary>
    /// On Linux, big READ replies from a device that can map them
    /// (<c>IReadMapping</c>: raw images and qcow2 data clusters through a
    /// mapping of their file, read cache hits) go out straight from there into
    /// the socket, instead of being read into a buffer and written from it.
    /// Never under TLS (the bytes must be encrypted). False always copies (the
    /// bench's A/B switch).
    /// </summary>
    public bool ZeroCopyReads { get; init; } = true;

    /// <summary>
    /// NBD_OPT_STARTTLS (doc/proto.md "TLS support"): Off (NOTLS: STARTTLS is
    /// answered NBD_REP_ERR_POLICY), Offered (the client chooses) or Required
    /// (FORCEDTLS: every option but STARTTLS and ABORT is answered
    /// NBD_REP_ERR_TLS_REQD until TLS is up). Needs <see cref="TlsCertificate"/> unless Off.
    /// </summary>
    public NbdTlsMode Tls { get; init; } = NbdTlsMode.Off;

    /// <summary>The server's certificate with its private key, and the chain it sends (the site CA).</summary>
    public SslStreamCertificateContext? TlsCertificate { get; init; }

    internal static bool IsSet(TimeSpan timeout) => timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestsInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRequestsInFlight, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPayloadSize, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxPayloadSize, 256 * 1024 * 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOptionLength, 4096 + 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnectionsPerAddress, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInFlightBytesPerConnection, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(ReservedInFlightBytesPerConnection);
        if (MaxInFlightBytes < MaxPayloadSize + NbdProtocol.MaxReplyHeaderSize)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxInFlightBytes), MaxInFlightBytes, $"must hold one request of MaxPayloadSize ({MaxPayloadSize} bytes) and its reply header");
        }

        if (Tls != NbdTlsMode.Off && TlsCertificate is null)
        {
            throw new ArgumentException($"TLS {Tls} needs a certificate (TlsCertificate)", nameof(TlsCertificate));
        }
    }
}
