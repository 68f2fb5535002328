using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Streamboot.Storage.BlockDevices;

namespace Streamboot.Protocols.Nbd.Native;

/// <summary>
/// Writes a read reply to a connected TCP socket in blocking mode without
/// copying its data through a buffer of ours: the header and every run of
/// mapped file (raw and qcow2 images), memory (a read cache's blocks) and
/// zeroes are gathered into one sendmsg(2), one copy into the socket instead
/// of two; a plain file range goes with sendfile(2), which hands page-cache
/// pages to TCP (what came before it is sent with MSG_MORE, so it does not
/// leave as a segment of its own). Linux only. Callers hold the connection's
/// reply lock, so a reply is never interleaved with another.
/// </summary>
internal static unsafe partial class LinuxSocket
{
    private const int MsgMore = 0x8000;
    private const int MsgNoSignal = 0x4000;
    private const int Eintr = 4;
    private const int Eagain = 11;
    private const short PollOut = 0x004;
    private const int MaxIoVecs = 64;

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
        var handles = ArrayPool<MemoryHandle>.Shared.Rent(segments.Length);
        var pinned = 0;
        var mappings = ArrayPool<FileMapping>.Shared.Rent(segments.Length);
        var acquired = 0;
        try
        {
            var fd = (int)socket.DangerousGetHandle();
            // Addresses go into the vector and are sent after the loop: both stay fixed until then.
            fixed (byte* head = header, zeroes = s_zeroes)
            {
                // The header and every run of memory and zero segments go out in one
                // sendmsg each; file segments between them go with sendfile.
                var vector = stackalloc IoVec[MaxIoVecs];
                var count = 0;
                Add(fd, vector, ref count, head, header.Length);
                for (var i = 0; i < segments.Length; i++)
                {
                    var segment = segments[i];
                    switch (segment.Kind)
                    {
                        case ReadSegmentKind.File:
                            SendVector(fd, vector, ref count, MsgMore);
                            SendFile(fd, segment.File!, segment.FileOffset, segment.Length, i < segments.Length - 1 ? MsgMore : 0);
                            break;
                        case ReadSegmentKind.Memory:
                            handles[pinned] = segment.Memory.Pin();
                            Add(fd, vector, ref count, (byte*)handles[pinned++].Pointer, segment.Length);
                            break;
                        case ReadSegmentKind.Mapped:
                            // Only the kernel reads through this address: a file truncated
                            // under the mapping is EFAULT here, where a read of ours would be SIGBUS.
                            var address = segment.Mapping!.Acquire(segment.FileOffset);
                            mappings[acquired++] = segment.Mapping;
                            Add(fd, vector, ref count, (byte*)address, segment.Length);
                            break;
                        default:
                            for (var left = segment.Length; left > 0; left -= s_zeroes.Length)
                            {
                                Add(fd, vector, ref count, zeroes, Math.Min(left, s_zeroes.Length));
                            }

                            break;
                    }
                }

                SendVector(fd, vector, ref count, 0);
            }
        }
        finally
        {
            for (var i = 0; i < pinned; i++)
            {
                handles[i].Dispose();
            }

            ArrayPool<MemoryHandle>.Shared.Return(handles, clearArray: true);
            for (var i = 0; i < acquired; i++)
            {
                mappings[i].Release();
            }

            ArrayPool<FileMapping>.Shared.Return(mappings, clearArray: true);
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>Appends a piece to the vector, sending the vector first when it is full.</summary>
    private static void Add(int fd, IoVec* vector, ref int count, byte* start, int length)
    {
        if (count == MaxIoVecs)
        {
            SendVector(fd, vector, ref count, MsgMore);
        }

        vector[count++] = new IoVec { Base = start, Length = (nuint)length };
    }

    /// <summary>sendmsg(2) of the whole vector (resuming after partial sends); empties it.</summary>
    private static void SendVector(int fd, IoVec* vector, ref int count, int flags)
    {
        var first = 0;
        while (first < count)
        {
            var message = new MsgHdr { Iov = vector + first, IovLen = (nuint)(count - first) };
            var n = SendMsg(fd, &message, flags | MsgNoSignal);
            if (n < 0)
            {
                WaitOrThrow(fd, "sendmsg");
                continue;
            }

            while (first < count && n >= (nint)vector[first].Length)
            {
                n -= (nint)vector[first].Length;
                first++;
            }

            if (n > 0)
            {
                vector[first].Base = (byte*)vector[first].Base + n;
                vector[first].Length -= (nuint)n;
            }
        }

        count = 0;
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

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static partial nint SendFileNative(int outFd, int inFd, ref long offset, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(PollFd* fds, nuint count, int timeout);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    // struct msghdr of 64-bit Linux: no address, no control data.
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
