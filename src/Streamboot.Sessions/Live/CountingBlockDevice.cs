using Streamboot.Storage.BlockDevices;

namespace Streamboot.Sessions.Live;

/// <summary>
/// The top of a device session as its connections see it: counts the bytes
/// read and written (for <c>streamboot session list</c>), atomically since
/// every connection of the session shares it, and fails every request once
/// the session has been ended under them (a new boot of the device took
/// over): a lingering connection of the old boot must never touch the disk
/// again.
/// </summary>
internal sealed class CountingBlockDevice(IBlockDevice inner) : BlockDeviceFilter(inner)
{
    private long _bytesRead;
    private long _bytesWritten;
    private volatile bool _ended;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>From now on every request fails.</summary>
    public void End() => _ended = true;

    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        Interlocked.Add(ref _bytesRead, buffer.Length);
        return Next.ReadAsync(offset, buffer, cancellationToken);
    }

    public override bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        ThrowIfEnded();
        if (!base.TryMapRead(offset, length, segments, out count))
        {
            return false;
        }

        Interlocked.Add(ref _bytesRead, length);
        return true;
    }

    public override ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        Interlocked.Add(ref _bytesWritten, data.Length);
        return Next.WriteAsync(offset, data, flags, cancellationToken);
    }

    public override ValueTask WriteZeroesAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        Interlocked.Add(ref _bytesWritten, length);
        return Next.WriteZeroesAsync(offset, length, flags, cancellationToken);
    }

    public override ValueTask TrimAsync(long offset, long length, WriteFlags flags = WriteFlags.None, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Next.TrimAsync(offset, length, flags, cancellationToken);
    }

    public override ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Next.FlushAsync(cancellationToken);
    }

    public override ValueTask<int> GetExtentsAsync(long offset, long length, Memory<BlockExtent> extents, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Next.GetExtentsAsync(offset, length, extents, cancellationToken);
    }

    /// <summary>The stack belongs to the session, not to a connection: connections never dispose it.</summary>
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void ThrowIfEnded()
    {
        if (_ended)
        {
            throw new BlockDeviceException(BlockDeviceError.Io, "this boot's session has ended: a newer boot of the device took over");
        }
    }
}
