namespace Streamboot.Protocols.Nbd;

/// <summary>Limits and tuning of an <see cref="NbdServer"/>. The defaults suit a boot server.</summary>
public sealed class NbdServerOptions
{
    /// <summary>Requests one connection may have in flight before the server stops reading more (1 to 1024).</summary>
    public int MaxRequestsInFlight { get; init; } = 32;

    /// <summary>Largest READ/WRITE payload (NBD_INFO_BLOCK_SIZE maximum); 32 MiB is what clients assume.</summary>
    public int MaxPayloadSize { get; init; } = 32 * 1024 * 1024;

    /// <summary>Option data larger than this is skipped and answered NBD_REP_ERR_TOO_BIG.</summary>
    public int MaxOptionLength { get; init; } = 64 * 1024;

    /// <summary>A client must reach transmission (or leave) within this time.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connections beyond this are closed right after accept.</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>SO_SNDBUF/SO_RCVBUF for accepted sockets; null keeps the kernel's autotuning.</summary>
    public int? SocketBufferSize { get; init; }

    /// <summary>Requests larger than this share <see cref="MaxLargeRequestsInFlight"/> slots, which bounds a connection's buffers.</summary>
    public int LargeRequestThreshold { get; init; } = 1024 * 1024;

    /// <summary>Requests above <see cref="LargeRequestThreshold"/> in flight at once per connection.</summary>
    public int MaxLargeRequestsInFlight { get; init; } = 4;

    /// <summary>
    /// Connections accepted by <see cref="NbdServer.Start"/> get a thread each and
    /// read with blocking calls (fastest for page-cache-hot images: no thread hop
    /// per request). False runs them on the thread pool with asynchronous reads.
    /// </summary>
    public bool ThreadPerConnection { get; init; } = true;

    /// <summary>
    /// Threads shared by thread-per-connection connections for big reads (128 KiB
    /// and more), so copying one overlaps with reading the next request; 0 picks
    /// max(16, 4 x CPUs).
    /// </summary>
    public int WorkerThreads { get; init; }

    /// <summary>
    /// On a connection with its own thread (Linux), big READ replies from a
    /// device that can map them (<c>IReadMapping</c>: raw images and qcow2 data
    /// clusters through a mapping of their file, read cache hits) go out straight
    /// from there into the socket, instead of being read into a buffer and
    /// written from it. False always copies (the bench's A/B switch).
    /// </summary>
    public bool ZeroCopyReads { get; init; } = true;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestsInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRequestsInFlight, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPayloadSize, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxPayloadSize, 256 * 1024 * 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOptionLength, 4096 + 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLargeRequestsInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(WorkerThreads);
    }
}
