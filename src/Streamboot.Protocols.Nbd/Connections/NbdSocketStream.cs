using System.Net.Sockets;
using System.Runtime.InteropServices;
using Streamboot.Protocols.Nbd.Native;

namespace Streamboot.Protocols.Nbd.Connections;

/// <summary>
/// An accepted TCP socket as a stream whose asynchronous calls try the
/// socket without blocking first and wait in the <see cref="NbdPoller"/> only
/// when it has nothing to read or no room: a busy connection runs on the
/// thread that has it, with no wake-ups. TLS (SslStream) layers over it
/// like over any stream; the zero-copy READ path writes to <see cref="Registration"/>'s
/// socket directly and waits the same way.
/// </summary>
internal sealed class NbdSocketStream : Stream
{
    private readonly NbdPollRegistration _registration;
    private int _disposed;

    public NbdSocketStream(NbdPoller poller, Socket socket)
    {
        Socket = socket;
        _registration = poller.Register(socket);
    }

    public Socket Socket { get; }

    public NbdPollRegistration Registration => _registration;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var n = TryReceive(buffer.Span);
            if (n >= 0)
            {
                return n;
            }

            await _registration.WaitReadableAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var n = TrySend(buffer.Span);
            if (n >= 0)
            {
                buffer = buffer[n..];
                continue;
            }

            await _registration.WaitWritableAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Synchronous calls (nothing here makes them; a TLS library might) wait on the thread.
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>recv(2) without waiting: bytes read, 0 at the end, -1 when nothing is there yet.</summary>
    private int TryReceive(Span<byte> buffer)
    {
        // The reference keeps the descriptor from being closed (and its number reused) during the call.
        var added = false;
        Socket.SafeHandle.DangerousAddRef(ref added);
        try
        {
            return TryReceive(_registration.Fd, buffer);
        }
        finally
        {
            Socket.SafeHandle.DangerousRelease();
        }
    }

    private int TrySend(ReadOnlySpan<byte> buffer)
    {
        var added = false;
        Socket.SafeHandle.DangerousAddRef(ref added);
        try
        {
            return TrySend(_registration.Fd, buffer);
        }
        finally
        {
            Socket.SafeHandle.DangerousRelease();
        }
    }

    private static unsafe int TryReceive(int fd, Span<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            while (true)
            {
                var n = Epoll.Recv(fd, start, buffer.Length, Epoll.MsgDontWait);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == Epoll.Eagain)
                {
                    return -1;
                }

                if (errno != Epoll.Eintr)
                {
                    throw new IOException($"recv failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                }
            }
        }
    }

    /// <summary>send(2) without waiting: bytes taken, -1 when there is no room.</summary>
    private static unsafe int TrySend(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            while (true)
            {
                var n = Epoll.Send(fd, start, buffer.Length, Epoll.MsgDontWait | Epoll.MsgNoSignal);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == Epoll.Eagain)
                {
                    return -1;
                }

                if (errno != Epoll.Eintr)
                {
                    throw new IOException($"send failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                }
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _registration.Dispose();
            Socket.Dispose();
        }

        base.Dispose(disposing);
    }
}
