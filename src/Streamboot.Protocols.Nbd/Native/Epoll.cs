using System.Runtime.InteropServices;

namespace Streamboot.Protocols.Nbd.Native;

/// <summary>epoll(7), eventfd(2) and the non-blocking socket calls <see cref="Connections.NbdPoller"/> and <see cref="Connections.NbdSocketStream"/> use. Linux only.</summary>
internal static unsafe partial class Epoll
{
    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint RdHup = 0x2000;
    public const uint OneShot = 1u << 30;

    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const int CtlMod = 3;

    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;
    public const int Eintr = 4;
    public const int Eagain = 11;

    private const int CloExec = 0x80000;

    // struct epoll_event is packed on x86-64 (12 bytes: events, then data at 4) and naturally aligned elsewhere (16, data at 8).
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int s_dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    public static int Create()
    {
        var fd = EpollCreate1(CloExec);
        return fd >= 0 ? fd : throw Failure("epoll_create1");
    }

    public static int CreateEventFd()
    {
        var fd = EventFd(0, CloExec);
        return fd >= 0 ? fd : throw Failure("eventfd");
    }

    /// <summary>epoll_ctl(2) with one event; false (errno kept) when it fails.</summary>
    public static bool Control(int epoll, int operation, int fd, uint events, ulong data)
    {
        var buffer = stackalloc byte[16];
        *(uint*)buffer = events;
        *(ulong*)(buffer + s_dataOffset) = data;
        return EpollCtl(epoll, operation, fd, buffer) == 0;
    }

    /// <summary>epoll_wait(2) into <paramref name="events"/> (room for <paramref name="max"/> events of <see cref="EventSize"/>).</summary>
    public static int Wait(int epoll, byte* events, int max, int timeout) => EpollWait(epoll, events, max, timeout);

    public static uint EventsAt(byte* events, int index) => *(uint*)(events + (index * EventSize));

    public static ulong DataAt(byte* events, int index) => *(ulong*)(events + (index * EventSize) + s_dataOffset);

    public static IOException Failure(string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epoll, int operation, int fd, void* events);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epoll, void* events, int max, int timeout);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nint length);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
