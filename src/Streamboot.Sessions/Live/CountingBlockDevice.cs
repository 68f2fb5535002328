using Streamboot.Storage.BlockDevices;

namespace Streamboot.Server.Streaming;

/// <summary>
/// Counts the bytes read and written through it, for <c>streamboot session
/// list</c>. Shared by all connections of one session, so the counters are
/// updated atomically.
/// </summary>
internal sealed class CountingBlockDevice(IBlockDevice inner) : BlockDeviceFilter(inner)
{
    private long _bytesRead;
    private long _bytesWritten;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _bytesRead, buffer.Length);
        return Next.ReadAsync(offset, buffer, cancellationToken);
    }

    public override bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        if (!base.TryMapRead(offset, length, segments, out count))
        {
            return false;
        }

        Interlocked.Add(ref _bytesRead, length);
        return true;
    }

    public override ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _bytesWritten, data.Length);
        return Next.WriteAsync(offset, data, flags, cancellationToken);
    }

    public override ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _bytesWritten, length);
        return Next.WriteZeroesAsync(offset, length, flags, cancellationToken);
    }
}
