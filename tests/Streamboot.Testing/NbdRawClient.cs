using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streamboot.Testing;

/// <summary>
/// A minimal NBD client on a raw socket for what real clients never do:
/// send requests and never read the replies, hold connections open, send
/// garbage where TLS should start. Numbers from doc/proto.md of the NBD project.
/// </summary>
public sealed class NbdRawClient : IAsyncDisposable
{
    private const ulong IHaveOpt = 0x49484156454F5054;
    private readonly Socket _socket;

    private NbdRawClient(Socket socket) => _socket = socket;

    /// <summary>
    /// Connects from <paramref name="source"/> (any 127.x: loopback is a /8,
    /// so one test can be many client addresses) and reads the greeting;
    /// <paramref name="receiveBuffer"/> makes a client that does not read fill up sooner.
    /// </summary>
    public static async Task<NbdRawClient> ConnectAsync(int port, IPAddress? source = null, int? receiveBuffer = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBuffer is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        if (source is not null)
        {
            socket.Bind(new IPEndPoint(source, 0));
        }

        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return new NbdRawClient(socket);
    }

    /// <summary>Greeting, fixed newstyle with no zeroes, then NBD_OPT_GO for <paramref name="export"/>; throws unless it is acknowledged.</summary>
    public async Task GoAsync(string export)
    {
        await HandshakeAsync();
        var name = Encoding.UTF8.GetBytes(export);
        var data = new byte[4 + name.Length + 2];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        await SendOptionAsync(7, data);
        while (true)
        {
            var (reply, _) = await ReadOptionReplyAsync();
            if (reply == 1)
            {
                return;
            }

            if ((reply & 0x80000000) != 0)
            {
                throw new InvalidOperationException($"NBD_OPT_GO of '{export}' refused: reply 0x{reply:x}");
            }
        }
    }

    /// <summary>Reads the server's greeting and answers with the fixed-newstyle and no-zeroes flags.</summary>
    public async Task HandshakeAsync()
    {
        var greeting = await ReadAsync(18);
        Assert.Equal(0x4e42444d41474943ul, BinaryPrimitives.ReadUInt64BigEndian(greeting));
        await SendAsync([0, 0, 0, 3]);
    }

    public async Task SendOptionAsync(uint option, byte[] data)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, IHaveOpt);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), (uint)data.Length);
        await SendAsync([.. header, .. data]);
    }

    /// <summary>One option reply: its type and data.</summary>
    public async Task<(uint Reply, byte[] Data)> ReadOptionReplyAsync()
    {
        var header = await ReadAsync(20);
        var data = await ReadAsync((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)));
        return (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), data);
    }

    /// <summary><paramref name="count"/> NBD_CMD_READs of <paramref name="length"/> bytes at <paramref name="offset"/>, sent at once.</summary>
    public Task SendReadsAsync(int count, uint length, ulong offset = 0)
    {
        var requests = new byte[28 * count];
        for (var i = 0; i < count; i++)
        {
            var request = requests.AsSpan(28 * i, 28);
            BinaryPrimitives.WriteUInt32BigEndian(request, 0x25609513);
            BinaryPrimitives.WriteUInt64BigEndian(request[8..], (ulong)i);
            BinaryPrimitives.WriteUInt64BigEndian(request[16..], offset);
            BinaryPrimitives.WriteUInt32BigEndian(request[24..], length);
        }

        return SendAsync(requests);
    }

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes);

    public async Task<byte[]> ReadAsync(int count)
    {
        var buffer = new byte[count];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var done = 0;
        while (done < count)
        {
            var n = await _socket.ReceiveAsync(buffer.AsMemory(done), timeout.Token);
            if (n == 0)
            {
                throw new EndOfStreamException($"the server closed after {done} of {count} bytes");
            }

            done += n;
        }

        return buffer;
    }

    /// <summary>True when the server closes the connection within 30 s (whatever it sent before is read and dropped).</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        var buffer = new byte[65536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (await _socket.ReceiveAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Drops the connection with a RST, like a client that crashed.</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
