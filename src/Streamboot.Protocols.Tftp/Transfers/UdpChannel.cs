using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>
/// A transfer's port (its TID) as the pump drives it. Two sockets share the
/// port (SO_REUSEPORT): one connected to the client, whose sends skip the
/// route lookup an unconnected sendto makes every packet (tftpd-hpa connects
/// too; it was the last 5 to 10 % of lock-step CPU), and one unconnected
/// that gets whatever Linux does not give the connected one, the datagrams
/// of other TIDs, and answers them ERROR 5 (RFC 1350 section 4). Non-blocking
/// receives and sends report "nothing now" as a value; the awaitable wait
/// for readiness or a deadline continues on the pump thread. One wait at a
/// time; no allocation and no system call per wait.
/// </summary>
internal sealed class UdpChannel : IValueTaskSource<PumpSignal>, IDisposable
{
    /// <summary>Marks the stranger socket's epoll events.</summary>
    public const long StrangerBit = 1L << 62;

    private const int Idle = 0;
    private const int Waiting = 1;
    private const int ReceiveBufferSize = 1024;

    private static readonly byte[] s_unknownTransferId = TftpTransfer.ErrorPacket(TftpErrorCode.UnknownTransferId, "Unknown transfer ID");

    private readonly TransferPump _pump;
    private readonly Socket _socket;
    private readonly Socket _strangers;
    private readonly byte[] _client = new byte[LinuxUdp.SocketAddressSize];
    private readonly int _clientLength;
    private readonly byte[] _from = new byte[LinuxUdp.SocketAddressSize];
    private readonly byte[] _strangerFrom = new byte[LinuxUdp.SocketAddressSize];
    private readonly byte[] _strangerBuffer = new byte[600];
    private readonly byte[] _scratch = new byte[16];
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<PumpSignal> _core;
    private int _events = LinuxUdp.EpollIn;
    private bool _pending;
    private int _fromLength;
    private int _state;
    private long _deadline;
    private byte[]? _buffer;

    private UdpChannel(TransferPump pump, Socket socket, Socket strangers, IPEndPoint client, long id)
    {
        _pump = pump;
        _socket = socket;
        _strangers = strangers;
        Id = id;
        Descriptor = (int)socket.SafeHandle.DangerousGetHandle();
        StrangerDescriptor = (int)strangers.SafeHandle.DangerousGetHandle();
        _clientLength = LinuxUdp.WriteAddress(client, _client);
        _buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
    }

    /// <summary>Called on the pump thread for each datagram of another TID, after its ERROR 5 went out.</summary>
    public Action<IPEndPoint>? StrangerAnswered { get; set; }

    /// <summary>Opens the two sockets on a fresh ephemeral port of <paramref name="local"/> and registers them with the pump.</summary>
    public static UdpChannel Open(TransferPump pump, IPAddress local, IPEndPoint client, long id, int? sendBufferSize)
    {
        // The port is picked without SO_REUSEPORT: with it, Linux's choice of a
        // free port skips only ports other users hold, and one transfer in a
        // few dozen landed on another transfer's port. Set afterwards, it lets
        // the connected socket join.
        var strangers = NewSocket(local.AddressFamily);
        Socket? socket = null;
        try
        {
            strangers.Bind(new IPEndPoint(local, 0));
            LinuxUdp.ReusePort(strangers);
            socket = NewSocket(local.AddressFamily);
            LinuxUdp.ReusePort(socket);
            if (sendBufferSize is { } size)
            {
                socket.SendBufferSize = size;
            }

            socket.Bind(strangers.LocalEndPoint!);
            socket.Connect(client);
        }
        catch
        {
            socket?.Dispose();
            strangers.Dispose();
            throw;
        }

        var channel = new UdpChannel(pump, socket, strangers, client, id);
        try
        {
            pump.Add(channel);
        }
        catch
        {
            channel.Dispose();
            throw;
        }

        return channel;
    }

    public long Id { get; }

    public int Descriptor { get; }

    public int StrangerDescriptor { get; }

    public EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    /// <summary>The last datagram received.</summary>
    public byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(UdpChannel));

    public bool IsWaiting => Volatile.Read(ref _state) == Waiting;

    public long Deadline => Volatile.Read(ref _deadline);

    /// <summary>Whether the last datagram came from the client's address and port (its TID).</summary>
    public bool FromClient => LinuxUdp.SameAddress(_from.AsSpan(0, _fromLength), _client.AsSpan(0, _clientLength));

    /// <summary>Who sent the last datagram, for the log.</summary>
    public IPEndPoint Sender => LinuxUdp.ReadAddress(_from.AsSpan(0, _fromLength));

    /// <summary>
    /// Until the socket is readable (or writable), the deadline (a Stopwatch
    /// timestamp) passes, or the server stops. The socket stays registered
    /// level-triggered for input, so the usual wait costs no system call;
    /// the registration changes only for a send wait or after input came
    /// while nobody waited (see <see cref="OnEvent"/>).
    /// </summary>
    public ValueTask<PumpSignal> WaitAsync(bool writable, long deadline)
    {
        var want = writable ? LinuxUdp.EpollOut : LinuxUdp.EpollIn;
        lock (_gate)
        {
            if (!writable && _pending)
            {
                // Input arrived while the transfer was busy: look at it now.
                _pending = false;
                return new ValueTask<PumpSignal>(PumpSignal.Ready);
            }

            if (_events != want)
            {
                var error = LinuxUdp.Control(_pump.Epoll, LinuxUdp.EpollCtlMod, Descriptor, want, Id, _scratch);
                if (error != 0)
                {
                    throw new SocketException(error);
                }

                _events = want;
            }

            _core.Reset();
            Volatile.Write(ref _deadline, deadline);
            Volatile.Write(ref _state, Waiting);
        }

        if (_pump.IsStopping)
        {
            Signal(PumpSignal.Stopped);
        }

        return new ValueTask<PumpSignal>(this, _core.Version);
    }

    /// <summary>
    /// The pump saw the socket ready. Nobody waiting means the transfer is busy
    /// elsewhere: the socket is muted (level-triggered input would otherwise be
    /// reported again and again) and the next wait returns at once.
    /// </summary>
    public void OnEvent()
    {
        lock (_gate)
        {
            if (_state != Waiting)
            {
                _pending = true;
                if (_events != 0)
                {
                    _ = LinuxUdp.Control(_pump.Epoll, LinuxUdp.EpollCtlMod, Descriptor, 0, Id, _scratch);
                    _events = 0;
                }

                return;
            }

            _state = Idle;
        }

        // Outside the lock: this runs the transfer's continuation.
        _core.SetResult(PumpSignal.Ready);
    }

    /// <summary>The stranger socket is readable: every datagram there is from another TID and gets ERROR 5.</summary>
    public void OnStrangerEvent()
    {
        while (true)
        {
            var received = LinuxUdp.ReceiveFrom(StrangerDescriptor, _strangerBuffer, _strangerFrom, out var length);
            if (received == -LinuxUdp.EAgain)
            {
                return;
            }

            if (received < 0)
            {
                continue;
            }

            _ = LinuxUdp.SendTo(StrangerDescriptor, s_unknownTransferId, s_unknownTransferId.Length, _strangerFrom, length);
            StrangerAnswered?.Invoke(LinuxUdp.ReadAddress(_strangerFrom.AsSpan(0, length)));
        }
    }

    /// <summary>Ends the current wait (a timeout, the server stopping), if any.</summary>
    public void Signal(PumpSignal signal)
    {
        lock (_gate)
        {
            if (_state != Waiting)
            {
                return;
            }

            _state = Idle;
        }

        _core.SetResult(signal);
    }

    /// <summary>One queued datagram into <see cref="Buffer"/>: its length, or -errno (-EAGAIN when none).</summary>
    public int Receive() => LinuxUdp.ReceiveFrom(Descriptor, Buffer, _from, out _fromLength);

    /// <summary>Sends to the client; 0 or errno (EAGAIN: the send buffer is full).</summary>
    public int TrySend(byte[] packet, int length) => LinuxUdp.Send(Descriptor, packet, length);

    /// <summary>Sends to the client, waiting for room in the send buffer until <paramref name="deadline"/> (then the packet counts as lost).</summary>
    public ValueTask SendAsync(byte[] packet, int length, long deadline)
    {
        var error = TrySend(packet, length);
        return error switch
        {
            0 => default,
            LinuxUdp.EAgain => SendLaterAsync(packet, length, deadline),

            // The client's port answered ICMP unreachable: the packet is lost, the timeout decides.
            LinuxUdp.EConnRefused => default,
            _ => throw new SocketException(error),
        };
    }

    /// <summary>Answers the sender of the last datagram (ERROR 5 to a stranger that reached the connected socket); best effort.</summary>
    public void ReplyToSender(byte[] packet) => _ = LinuxUdp.SendTo(Descriptor, packet, packet.Length, _from, _fromLength);

    public PumpSignal GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    public void Dispose()
    {
        _pump.Remove(this);
        _socket.Dispose();
        _strangers.Dispose();
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask SendLaterAsync(byte[] packet, int length, long deadline)
    {
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var signal = await WaitAsync(writable: true, deadline).ConfigureAwait(false);
            if (signal == PumpSignal.Stopped)
            {
                throw new OperationCanceledException("the server is stopping");
            }

            var error = TrySend(packet, length);
            if (error == 0)
            {
                return;
            }

            if (error == LinuxUdp.EConnRefused)
            {
                return;
            }

            if (error != LinuxUdp.EAgain)
            {
                throw new SocketException(error);
            }
        }
    }

    private static Socket NewSocket(AddressFamily family)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = true;
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
