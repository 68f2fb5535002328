namespace Streamboot.Telemetry;

/// <summary>
/// One protocol's requests and bytes since the process started: an
/// <see cref="Interlocked"/> add per request, no allocation, read when
/// <c>/metrics</c> is scraped. Reads are what the server sent (a disk's
/// blocks, a file), writes what clients sent to be written.
/// </summary>
public sealed class ProtocolTraffic
{
    private long _requests;
    private long _bytesRead;
    private long _bytesWritten;

    public long Requests => Interlocked.Read(ref _requests);

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public void Request() => Interlocked.Increment(ref _requests);

    public void Read(long bytes) => Interlocked.Add(ref _bytesRead, bytes);

    public void Written(long bytes) => Interlocked.Add(ref _bytesWritten, bytes);
}
