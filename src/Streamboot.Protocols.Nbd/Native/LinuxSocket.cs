using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Native;

/// <summary>
/// Writes a read reply to a connected TCP socket in blocking mode without
/// copying its data through a buffer of ours: the header goes with
/// send(2) and MSG_MORE (no segment of its own on the wire), file ranges go
/// with sendfile(2), which hands page-cache pages to TCP without a copy,
/// memory and zeroes with send(2). Linux only. Callers hold the connection's
/// reply lock, so a reply is never interleaved with another.
/// </summary>
internal static unsafe partial class LinuxSocket
{
    private const int MsgMore = 0x8000;
    private const int MsgNoSignal = 0x4000;
    private const int Eintr = 4;
    private const int Eagain = 11;
    private const short PollOut = 0x004;

    // Zeroes are sent from here, a piece at a time.
    private static readonly byte[] s_zeroes = GC.AllocateArray<byte>(64 * 1024, pinned: true);

    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>
    /// Sends <paramref name="header"/> and then the bytes of every segment.
    /// A file that turns out shorter than its segment (truncated under us, a
    /// qcow2 image's short last cluster) is padded with zeroes, as a pread
    /// there reads them: the reply must have the length its header announced.
    /// Throws <see cref="IOException"/> when the socket or the file fails: the
    /// header is out by then, so the connection cannot go on.
    /// </summary>
    public static void SendReply(SafeSocketHandle socket, ReadOnlySpan<byte> header, ReadOnlySpan<ReadSegment> segments)
    {
        var added = false;
        socket.DangerousAddRef(ref added);
        try
        {
            var fd = (int)socket.DangerousGetHandle();
            SendAll(fd, header, segments.IsEmpty ? 0 : MsgMore);
            for (var i = 0; i < segments.Length; i++)
            {
                var more = i < segments.Length - 1 ? MsgMore : 0;
                var segment = segments[i];
                switch (segment.Kind)
                {
                    case ReadSegmentKind.File:
                        SendFile(fd, segment.File!, segment.FileOffset, segment.Length, more);
                        break;
                    case ReadSegmentKind.Memory:
                        SendAll(fd, segment.Memory.Span, more);
                        break;
                    default:
                        SendZeroes(fd, segment.Length, more);
                        break;
                }
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    private static void SendZeroes(int fd, long length, int more)
    {
        while (length > 0)
        {
            var n = (int)Math.Min(length, s_zeroes.Length);
            length -= n;
            SendAll(fd, s_zeroes.AsSpan(0, n), length > 0 ? MsgMore : more);
        }
    }

    private static void SendAll(int fd, ReadOnlySpan<byte> data, int flags)
    {
        fixed (byte* start = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var n = Send(fd, start + done, data.Length - done, flags | MsgNoSignal);
                if (n < 0)
                {
                    WaitOrThrow(fd, "send");
                    continue;
                }

                done += (int)n;
            }
        }
    }

    private static void SendFile(int fd, SafeFileHandle file, long offset, int length, int more)
    {
        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            var input = (int)file.DangerousGetHandle();
            var position = offset;
            var left = length;
            while (left > 0)
            {
                var n = SendFileNative(fd, input, ref position, left);
                if (n < 0)
                {
                    WaitOrThrow(fd, "sendfile");
                    continue;
                }

                if (n == 0)
                {
                    SendZeroes(fd, left, more);
                    return;
                }

                left -= (int)n;
            }
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// After a failed call: retries an interrupted one (the runtime's own
    /// signals), waits for room on a socket someone made non-blocking, and
    /// throws for anything else.
    /// </summary>
    private static void WaitOrThrow(int fd, string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Eintr)
        {
            return;
        }

        if (errno == Eagain)
        {
            var poll = new PollFd { Fd = fd, Events = PollOut };
            if (Poll(&poll, 1, -1) >= 0 || Marshal.GetLastPInvokeError() == Eintr)
            {
                return;
            }

            errno = Marshal.GetLastPInvokeError();
        }

        throw new IOException($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint Send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static partial nint SendFileNative(int outFd, int inFd, ref long offset, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(PollFd* fds, nuint count, int timeout);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
