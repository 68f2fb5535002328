using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>
/// The few Linux calls the transfer pump needs: epoll, and recvfrom/sendto
/// with MSG_DONTWAIT that report EAGAIN as a value instead of an exception.
/// Arrays of bytes are pinned by the marshaller, so no unsafe code is needed.
/// </summary>
internal static class LinuxUdp
{
    public const int EpollIn = 0x001;
    public const int EpollOut = 0x004;
    public const int EpollOneShot = 1 << 30;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCtlMod = 3;
    public const int EAgain = 11;
    public const int EConnRefused = 111;
    public const int EIntr = 4;
    private const int MsgDontWait = 0x40;
    private const int EpollCloexec = 0x80000;
    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    /// <summary>struct epoll_event is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16).</summary>
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? 12 : 16;

    private static readonly int s_dataOffset = EventSize == 12 ? 4 : 8;

    /// <summary>Room for any sockaddr (sockaddr_storage is 128 bytes).</summary>
    public const int SocketAddressSize = 128;

    public static int CreateEpoll()
    {
        var fd = epoll_create1(EpollCloexec);
        return fd >= 0 ? fd : throw new SocketException(Marshal.GetLastPInvokeError());
    }

    public static void Close(int fd) => _ = close(fd);

    public static int Control(int epoll, int operation, int fd, int events, long data)
    {
        var buffer = new byte[16];
        WriteEvent(buffer, 0, events, data);
        return epoll_ctl(epoll, operation, fd, buffer) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>epoll_ctl with a caller's scratch buffer (no allocation on the hot path).</summary>
    public static int Control(int epoll, int operation, int fd, int events, long data, byte[] scratch)
    {
        WriteEvent(scratch, 0, events, data);
        return epoll_ctl(epoll, operation, fd, scratch) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Waits for events into <paramref name="events"/>; returns how many, 0 on timeout or EINTR.</summary>
    public static int Wait(int epoll, byte[] events, int timeoutMilliseconds)
    {
        var count = epoll_wait(epoll, events, events.Length / EventSize, timeoutMilliseconds);
        if (count >= 0)
        {
            return count;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EIntr ? 0 : throw new SocketException(errno);
    }

    public static long EventData(byte[] events, int index) => BinaryPrimitives.ReadInt64LittleEndian(events.AsSpan((index * EventSize) + s_dataOffset));

    /// <summary>Receives one datagram; returns its length, or -errno (-EAGAIN when none is queued).</summary>
    public static int ReceiveFrom(int fd, byte[] buffer, byte[] address, out int addressLength)
    {
        addressLength = address.Length;
        var received = recvfrom(fd, buffer, buffer.Length, MsgDontWait, address, ref addressLength);
        return received >= 0 ? (int)received : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Sends one datagram from the start of <paramref name="buffer"/>; returns 0, or errno (EAGAIN when the send buffer is full).</summary>
    public static int SendTo(int fd, byte[] buffer, int length, byte[] address, int addressLength)
    {
        var sent = sendto(fd, buffer, length, MsgDontWait, address, addressLength);
        return sent >= 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Sends one datagram on a connected socket (its route is cached, unlike sendto's); returns 0 or errno.</summary>
    public static int Send(int fd, byte[] buffer, int length)
    {
        var sent = send(fd, buffer, length, MsgDontWait);
        return sent >= 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>SO_REUSEPORT: sockets of the same user may share a port, and Linux gives each datagram to the best match.</summary>
    public static void ReusePort(Socket socket) => socket.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, [1, 0, 0, 0]);

    /// <summary>The native sockaddr_in / sockaddr_in6 of an endpoint; returns its length.</summary>
    public static int WriteAddress(IPEndPoint endPoint, byte[] address)
    {
        Array.Clear(address);
        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(address, AfInet);
            BinaryPrimitives.WriteUInt16BigEndian(address.AsSpan(2), (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(address.AsSpan(4, 4), out _);
            return 16;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(address, AfInet6);
        BinaryPrimitives.WriteUInt16BigEndian(address.AsSpan(2), (ushort)endPoint.Port);
        endPoint.Address.TryWriteBytes(address.AsSpan(8, 16), out _);
        BinaryPrimitives.WriteUInt32LittleEndian(address.AsSpan(24), (uint)endPoint.Address.ScopeId);
        return 28;
    }

    /// <summary>Same family, port and address (IPv6 flow labels and scopes aside).</summary>
    public static bool SameAddress(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length < 8 || b.Length < 8 || !a[..4].SequenceEqual(b[..4]))
        {
            return false;
        }

        return BinaryPrimitives.ReadUInt16LittleEndian(a) == AfInet
            ? a.Slice(4, 4).SequenceEqual(b.Slice(4, 4))
            : a.Length >= 24 && b.Length >= 24 && a.Slice(8, 16).SequenceEqual(b.Slice(8, 16));
    }

    /// <summary>For log lines: the endpoint a native sockaddr names.</summary>
    public static IPEndPoint ReadAddress(ReadOnlySpan<byte> address)
    {
        if (address.Length < 8)
        {
            return new IPEndPoint(IPAddress.None, 0);
        }

        var port = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
        return BinaryPrimitives.ReadUInt16LittleEndian(address) == AfInet || address.Length < 24
            ? new IPEndPoint(new IPAddress(address.Slice(4, 4)), port)
            : new IPEndPoint(new IPAddress(address.Slice(8, 16)), port);
    }

    private static void WriteEvent(byte[] buffer, int index, int events, long data)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(index * EventSize), events);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan((index * EventSize) + s_dataOffset), data);
    }

#pragma warning disable SYSLIB1054 // DllImport with pinned byte arrays keeps this project free of unsafe code
    [DllImport("libc", SetLastError = true)]
    private static extern int epoll_create1(int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int epoll_ctl(int epfd, int op, int fd, byte[] @event);

    [DllImport("libc", SetLastError = true)]
    private static extern int epoll_wait(int epfd, byte[] events, int maxevents, int timeout);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern nint recvfrom(int fd, byte[] buffer, nint length, int flags, byte[] address, ref int addressLength);

    [DllImport("libc", SetLastError = true)]
    private static extern nint send(int fd, byte[] buffer, nint length, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint sendto(int fd, byte[] buffer, nint length, int flags, byte[] address, int addressLength);
#pragma warning restore SYSLIB1054
}
