using Streamboot.Storage.BlockDevices;

namespace Streamboot.Sessions.Live;

/// <summary>
/// The top of a device session as its connections see it: counts the bytes
/// read and written (for <c>streamboot session list</c>), atomically since
/// every connection of the session shares it, and fails every request once
/// the session has been ended under them (a new boot of the device took
/// over, or the vDisk version it shows was deleted): a lingering connection
/// must never touch that disk again, nor be handed another one's bytes.
/// </summary>
internal sealed class CountingBlockDevice(IBlockDevice inner) : BlockDeviceFilter(inner)
{
    private long _bytesRead;
    private long _bytesWritten;
    private string? _ended;
    private BlockDeviceError _endedWith = BlockDeviceError.Io;
    private readonly CancellationTokenSource _moved = new();

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Whether <see cref="End"/> was called.</summary>
    public bool Ended => Volatile.Read(ref _ended) is not null;

    /// <summary>From now on every request fails, with <paramref name="reason"/> (the first reason given stays).</summary>
    public void End(string reason) => Interlocked.CompareExchange(ref _ended, reason, null);

    /// <summary>
    /// Ends it because the session moves to another server: requests fail
    /// with <see cref="BlockDeviceError.Moved"/>, which front ends answer by
    /// dropping the connection (the client resends elsewhere), never with an error.
    /// </summary>
    public void EndMoved(string reason)
    {
        if (Ended)
        {
            return;
        }

        _endedWith = BlockDeviceError.Moved;
        End(reason);
    }

    /// <summary>
    /// After <see cref="EndMoved"/>, once the session has let go of its
    /// files: front ends close even the connections that send nothing
    /// (callbacks run here, so never under a lock or gate).
    /// </summary>
    public void DropConnections() => _moved.Cancel();

    /// <summary>Cancelled by <see cref="DropConnections"/>.</summary>
    public CancellationToken Moved => _moved.Token;

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
        if (Volatile.Read(ref _ended) is { } reason)
        {
            throw new BlockDeviceException(_endedWith, reason);
        }
    }
}
