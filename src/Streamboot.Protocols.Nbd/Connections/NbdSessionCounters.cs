using Streamboot.Telemetry;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>A session's counters for its summary, and the server-wide NBD totals of /metrics; updated from any request's completion.</summary>
internal sealed class NbdSessionCounters
{
    private long _requests;
    private long _bytesRead;
    private long _bytesWritten;

    public long Requests => Interlocked.Read(ref _requests);

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public void Request()
    {
        Interlocked.Increment(ref _requests);
        StreambootMetrics.NbdTraffic.Request();
    }

    public void Read(long bytes)
    {
        Interlocked.Add(ref _bytesRead, bytes);
        StreambootMetrics.NbdTraffic.Read(bytes);
    }

    public void Written(long bytes)
    {
        Interlocked.Add(ref _bytesWritten, bytes);
        StreambootMetrics.NbdTraffic.Written(bytes);
    }
}
