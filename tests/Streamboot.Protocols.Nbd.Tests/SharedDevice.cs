using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>
/// One connection's handle on an export's device, shared by all its
/// connections as the server layer shares a session's device (writable
/// images open exclusively, so two opens of one file would refuse). The
/// device is flushed and closed when the last handle is disposed.
/// </summary>
internal sealed class SharedDevice(IBlockDevice inner, Func<ValueTask> release, Action? mapped = null, Action<long>? read = null) : BlockDeviceFilter(inner)
{
    private int _disposed;

    /// <summary>Counts bytes read (the copy path) for the tests that bound what a client can make the server read ahead of sending.</summary>
    public override ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        read?.Invoke(buffer.Length);
        return base.ReadAsync(offset, buffer, cancellationToken);
    }

    /// <summary>Counts mapped reads (the zero-copy path) for the tests that check it was taken.</summary>
    public override bool TryMapRead(long offset, int length, Span<ReadSegment> segments, out int count)
    {
        if (!base.TryMapRead(offset, length, segments, out count))
        {
            return false;
        }

        mapped?.Invoke();
        return true;
    }

    public override ValueTask DisposeAsync() => Interlocked.Exchange(ref _disposed, 1) == 0 ? release() : ValueTask.CompletedTask;
}
