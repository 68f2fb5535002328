using Microsoft.Win32.SafeHandles;

namespace Streamboot.Protocols.Tftp.Files;

/// <summary>
/// A file being sent: a known length and reads at any offset, because a lost
/// window is read again from the last acknowledged block (RFC 7440 rollback).
/// The transfer disposes it when it ends.
/// </summary>
public abstract class TftpFile : IDisposable
{
    public abstract long Length { get; }

    /// <summary>Reads up to <paramref name="buffer"/>'s length at <paramref name="offset"/>; fewer bytes only at the end.</summary>
    public abstract ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>A file on disk, read with positional reads (pread); the handle is closed on dispose.</summary>
    public static TftpFile FromHandle(SafeFileHandle handle) => new HandleFile(handle);

    /// <summary>Bytes the host made (a generated boot script, a menu).</summary>
    public static TftpFile FromMemory(ReadOnlyMemory<byte> content) => new MemoryFile(content);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    private sealed class HandleFile(SafeFileHandle handle) : TftpFile
    {
        public override long Length { get; } = RandomAccess.GetLength(handle);

        public override ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            // Boot files live in the page cache: a synchronous pread of one
            // chunk costs less than handing it to another thread.
            return ValueTask.FromResult(RandomAccess.Read(handle, buffer.Span, offset));
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                handle.Dispose();
            }
        }
    }

    private sealed class MemoryFile(ReadOnlyMemory<byte> content) : TftpFile
    {
        public override long Length => content.Length;

        public override ValueTask<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            if (offset >= content.Length)
            {
                return ValueTask.FromResult(0);
            }

            var slice = content.Span.Slice((int)offset, Math.Min(buffer.Length, content.Length - (int)offset));
            slice.CopyTo(buffer.Span);
            return ValueTask.FromResult(slice.Length);
        }
    }
}
