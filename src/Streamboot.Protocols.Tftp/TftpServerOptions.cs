namespace Streamboot.Protocols.Tftp;

/// <summary>Limits and tuning of a <see cref="TftpServer"/>. The defaults suit a boot server.</summary>
public sealed record TftpServerOptions
{
    /// <summary>
    /// The largest blksize granted (RFC 2348 allows 8 to 65464). A client that
    /// asks for more gets this in the OACK; buffers are never sized from what a
    /// client asked.
    /// </summary>
    public int MaxBlockSize { get; init; } = TftpProtocol.MaxBlockSize;

    /// <summary>The largest windowsize granted (RFC 7440 allows up to 65535; at most 32768 here so block numbers in a window never wrap onto each other).</summary>
    public int MaxWindowSize { get; init; } = 64;

    /// <summary>
    /// The most file bytes one window may carry: windowsize is granted no
    /// larger than this divided by blksize (at least 1). A Linux client's
    /// default receive buffer (208 KiB, and every datagram costs the kernel
    /// about twice its size) drops the tail of anything bigger, and each such
    /// loss costs a timeout. 96 KiB keeps windowsize 64 at blksize 1468.
    /// </summary>
    public int MaxWindowBytes { get; init; } = 96 * 1024;

    /// <summary>How long to wait for an ACK before sending the window again, unless the client negotiated timeout.</summary>
    public TimeSpan RetransmitTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Retransmissions of one window in a row before the transfer is abandoned.</summary>
    public int MaxRetransmissions { get; init; } = 5;

    /// <summary>
    /// The largest timeout a client may negotiate (RFC 2349 allows 1 to 255 s).
    /// A larger one is not honoured: it is left out of the OACK (RFC 2347 lets
    /// a server omit an option it does not accept) and the transfer keeps
    /// <see cref="RetransmitTimeout"/>. Honoured, timeout 255 let a client that
    /// never answers hold its slot for 6 x 255 s, about 25 minutes. Real
    /// clients ask for a few seconds (U-Boot 5, atftp what it is told) or nothing.
    /// </summary>
    public TimeSpan MaxTimeoutOption { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a transfer keeps retransmitting without an ACK that moves it
    /// forward, whatever its timeout: at the first timeout after this it is
    /// abandoned, even with retransmissions left. With
    /// <see cref="MaxTimeoutOption"/> it bounds how long a silent client holds
    /// a slot (here at most 30 s plus one timeout).
    /// </summary>
    public TimeSpan MaxRetryTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Transfers running at once. A request beyond this is dropped (and logged),
    /// so the client's own retransmission of its request gets in once a slot frees.
    /// </summary>
    public int MaxTransfers { get; init; } = 1024;

    /// <summary>
    /// Transfers running at once for one client address, beside
    /// <see cref="MaxTransfers"/>, so that one address cannot take every slot.
    /// A PXE client runs one or two at a time (a tsize probe, a request it sent
    /// again) and a boot storm of 500 machines comes from 500 addresses. A
    /// request beyond it is dropped, like one beyond <see cref="MaxTransfers"/>.
    /// </summary>
    public int MaxTransfersPerClient { get; init; } = 16;

    /// <summary>
    /// Log lines per minute for each kind of refusal (requests dropped,
    /// malformed or refused, files refused, transfers abandoned). Those beyond
    /// are counted in <see cref="TftpServerStatistics"/>, and the next line
    /// written says how many were left out: a flood cannot flood the log.
    /// </summary>
    public int RefusalLogLinesPerMinute { get; init; } = 60;

    /// <summary>Bytes read from the file at a time per transfer (rounded to whole blocks); bounds a transfer's memory with blksize.</summary>
    public int ReadChunkSize { get; init; } = 64 * 1024;

    /// <summary>SO_SNDBUF of transfer sockets; null keeps the kernel's default. Big windows of big blocks may want more.</summary>
    public int? SocketSendBufferSize { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBlockSize, TftpProtocol.MinBlockSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxBlockSize, TftpProtocol.MaxBlockSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxWindowSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxWindowSize, 32768);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxWindowBytes, TftpProtocol.MinBlockSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(RetransmitTimeout, TimeSpan.FromMilliseconds(10));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(RetransmitTimeout, TimeSpan.FromSeconds(TftpProtocol.MaxTimeoutSeconds));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRetransmissions);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRetransmissions, 1000);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTimeoutOption, TimeSpan.FromSeconds(TftpProtocol.MinTimeoutSeconds));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxTimeoutOption, TimeSpan.FromSeconds(TftpProtocol.MaxTimeoutSeconds));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryTime, TimeSpan.FromMilliseconds(10));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRetryTime, TimeSpan.FromHours(1));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTransfers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTransfersPerClient, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(RefusalLogLinesPerMinute, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ReadChunkSize, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ReadChunkSize, 16 * 1024 * 1024);
    }
}
