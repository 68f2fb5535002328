using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Streamboot.Protocols.Nbd.Native;

/// <summary>
/// Sends a reply's pieces (<see cref="SendPiece"/>: memory by address, or a
/// file range) to a connected TCP socket without waiting and without copying
/// them through a buffer of ours: runs of memory go out in one sendmsg(2)
/// (header, mapped file, cache blocks and zeroes gathered: one copy into the
/// socket instead of two), a file range with sendfile(2) (what came before it
/// with MSG_MORE, so it does not leave as a segment of its own). When the
/// socket is full it stops and says how far it got; the caller sends the rest
/// asynchronously. Linux only. Callers hold the connection's reply lock, so a
/// reply is never interleaved with another.
/// </summary>
internal static unsafe partial class LinuxSocket
{
    private const int MsgDontWait = 0x40;
    private const int MsgMore = 0x8000;
    private const int MsgNoSignal = 0x4000;
    private const int Eintr = 4;
    private const int Eagain = 11;
    private const int MaxIoVecs = 64;

    // Zeroes past the end of a short file are sent from here; the pinned heap keeps the address fixed.
    private static readonly byte[] s_zeroes = GC.AllocateArray<byte>(64 * 1024, pinned: true);

    public static bool IsSupported => OperatingSystem.IsLinux();

    private static nint ZeroesAddress => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(s_zeroes));

    /// <summary>
    /// Sends <paramref name="header"/> and then the bytes of <paramref name="pieces"/>,
    /// from byte <paramref name="start"/> of the whole on, as far as the socket
    /// takes them without blocking, and returns where it stopped (the total
    /// length when all is out). A file that turns out shorter than its piece
    /// (truncated under us) is followed by zeroes to the piece's end, as a
    /// pread there reads. Throws <see cref="IOException"/> when the socket fails.
    /// </summary>
    public static long TrySend(SafeSocketHandle socket, ReadOnlySpan<byte> header, ReadOnlySpan<SendPiece> pieces, long start)
    {
        var added = false;
        socket.DangerousAddRef(ref added);
        try
        {
            var fd = (int)socket.DangerousGetHandle();
            var vector = stackalloc IoVec[MaxIoVecs];
            var count = 0;
            long vectorBytes = 0;
            // The header's address goes into the vector and is sent below: it stays fixed until then.
            fixed (byte* head = header)
            {
                if (start < header.Length)
                {
                    vector[count++] = new IoVec { Base = head + start, Length = (nuint)(header.Length - start) };
                    vectorBytes = header.Length - start;
                }

                var position = (long)header.Length; // where piece i starts in the whole
                for (var i = 0; i < pieces.Length; i++)
                {
                    var piece = pieces[i];
                    var end = position + piece.Length;
                    if (end <= start)
                    {
                        position = end;
                        continue;
                    }

                    var skip = (int)Math.Max(0, start - position);
                    if (piece.File is { } file)
                    {
                        // What is gathered so far goes first, then the file range.
                        var sent = SendVector(fd, vector, count, vectorBytes, MsgMore);
                        start = Math.Max(start, position - vectorBytes) + sent;
                        if (sent < vectorBytes)
                        {
                            return start;
                        }

                        count = 0;
                        vectorBytes = 0;
                        var fileSent = SendFile(fd, file, piece.FileOffset + skip, piece.Length - skip, out var ended);
                        start = position + skip + fileSent;
                        if (fileSent < piece.Length - skip)
                        {
                            if (!ended)
                            {
                                return start;
                            }

                            // The file ends inside its piece (truncated, or a qcow2 image's short
                            // last cluster): the rest reads as zeroes, as a pread there does.
                            for (var left = piece.Length - skip - (int)fileSent; left > 0; left -= s_zeroes.Length)
                            {
                                var chunk = Math.Min(left, s_zeroes.Length);
                                if (count == MaxIoVecs)
                                {
                                    var flushed = SendVector(fd, vector, count, vectorBytes, MsgMore);
                                    start += flushed;
                                    if (flushed < vectorBytes)
                                    {
                                        return start;
                                    }

                                    count = 0;
                                    vectorBytes = 0;
                                }

                                vector[count++] = new IoVec { Base = (byte*)ZeroesAddress, Length = (nuint)chunk };
                                vectorBytes += chunk;
                            }
                        }
                    }
                    else
                    {
                        if (count == MaxIoVecs)
                        {
                            var sent = SendVector(fd, vector, count, vectorBytes, MsgMore);
                            start = Math.Max(start, position - vectorBytes) + sent;
                            if (sent < vectorBytes)
                            {
                                return start;
                            }

                            count = 0;
                            vectorBytes = 0;
                        }

                        vector[count++] = new IoVec { Base = (byte*)piece.Address + skip, Length = (nuint)(piece.Length - skip) };
                        vectorBytes += piece.Length - skip;
                    }

                    position = end;
                }

                var last = SendVector(fd, vector, count, vectorBytes, 0);
                return position - vectorBytes + last;
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

    /// <summary>sendmsg(2) of the vector until it is out or the socket is full; returns the bytes sent.</summary>
    private static long SendVector(int fd, IoVec* vector, int count, long total, int flags)
    {
        long done = 0;
        var first = 0;
        while (done < total)
        {
            var message = new MsgHdr { Iov = vector + first, IovLen = (nuint)(count - first) };
            var n = SendMsg(fd, &message, flags | MsgDontWait | MsgNoSignal);
            if (n < 0)
            {
                if (WouldBlock("sendmsg"))
                {
                    return done;
                }

                continue;
            }

            done += n;
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

        return done;
    }

    /// <summary>sendfile(2) until the range is out, the socket is full or the file ends (<paramref name="ended"/>); returns the bytes sent.</summary>
    private static long SendFile(int fd, SafeHandle file, long offset, int length, out bool ended)
    {
        ended = false;
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
                    if (WouldBlock("sendfile"))
                    {
                        break;
                    }

                    continue;
                }

                if (n == 0)
                {
                    ended = true; // the file ends here
                    break;
                }

                left -= (int)n;
            }

            return length - left;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>After a failed call: true when the socket is full, false to retry an interrupted call; throws for anything else.</summary>
    private static bool WouldBlock(string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            Eagain => true,
            Eintr => false,
            _ => throw new IOException($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})"),
        };
    }

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static partial nint SendFileNative(int outFd, int inFd, ref long offset, nint count);

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
}
