using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streamboot.Storm;

/// <summary>
/// The least NBD client a booting kernel is (doc/proto.md of the NBD
/// project): fixed newstyle handshake, NBD_OPT_GO for one export, then
/// simple replies to READ, WRITE and FLUSH, one request at a time, and
/// NBD_CMD_DISC at the end. No structured replies, no TLS.
/// </summary>
internal sealed class NbdClient : IAsyncDisposable
{
    private const ulong NbdMagic = 0x4e42444d41474943; // "NBDMAGIC"
    private const ulong IHaveOpt = 0x49484156454F5054; // "IHAVEOPT"
    private const ulong OptionReplyMagic = 0x3e889045565a9;
    private const uint RequestMagic = 0x25609513;
    private const uint SimpleReplyMagic = 0x67446698;
    private const ushort FlagFixedNewstyle = 1;
    private const ushort FlagNoZeroes = 2;
    private const uint OptGo = 7;
    private const uint RepAck = 1;
    private const uint RepInfo = 3;
    private const ushort CmdRead = 0;
    private const ushort CmdWrite = 1;
    private const ushort CmdDisc = 2;
    private const ushort CmdFlush = 3;

    private readonly Socket _socket;
    private readonly byte[] _header = new byte[28];
    private ulong _handle;

    private NbdClient(Socket socket) => _socket = socket;

    /// <summary>The export's size from NBD_INFO_EXPORT.</summary>
    public long Size { get; private set; }

    /// <summary>Connects from <paramref name="source"/> and opens <paramref name="export"/> with NBD_OPT_GO.</summary>
    public static async Task<NbdClient> ConnectAsync(IPEndPoint server, IPAddress source, string export, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var client = new NbdClient(socket);
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(server, cancellationToken);
            await client.GoAsync(export, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>NBD_CMD_READ into <paramref name="buffer"/>; an error reply throws.</summary>
    public async Task ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await SendRequestAsync(CmdRead, offset, buffer.Length, cancellationToken);
        await ReadReplyAsync(cancellationToken);
        await ReceiveExactlyAsync(buffer, cancellationToken);
    }

    /// <summary>NBD_CMD_WRITE of <paramref name="data"/>; an error reply throws.</summary>
    public async Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await SendRequestAsync(CmdWrite, offset, data.Length, cancellationToken);
        await SendAllAsync(data, cancellationToken);
        await ReadReplyAsync(cancellationToken);
    }

    /// <summary>NBD_CMD_FLUSH; an error reply throws.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await SendRequestAsync(CmdFlush, 0, 0, cancellationToken);
        await ReadReplyAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.Connected && Size > 0)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await SendRequestAsync(CmdDisc, 0, 0, cts.Token);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is going anyway.
        }

        _socket.Dispose();
    }

    private async Task GoAsync(string export, CancellationToken cancellationToken)
    {
        // Greeting: NBDMAGIC, IHAVEOPT, handshake flags.
        await ReceiveExactlyAsync(_header.AsMemory(0, 18), cancellationToken);
        if (BinaryPrimitives.ReadUInt64BigEndian(_header) != NbdMagic || BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(8)) != IHaveOpt)
        {
            throw new InvalidDataException("not a newstyle NBD server");
        }

        var serverFlags = BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(16));
        if ((serverFlags & FlagFixedNewstyle) == 0)
        {
            throw new InvalidDataException("the NBD server does not speak fixed newstyle");
        }

        var clientFlags = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(clientFlags, FlagFixedNewstyle | (uint)(serverFlags & FlagNoZeroes));
        await SendAllAsync(clientFlags, cancellationToken);

        var name = Encoding.UTF8.GetBytes(export);
        var option = new byte[16 + 4 + name.Length + 2];
        BinaryPrimitives.WriteUInt64BigEndian(option, IHaveOpt);
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(8), OptGo);
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(12), (uint)(4 + name.Length + 2));
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(16), (uint)name.Length);
        name.CopyTo(option, 20);
        await SendAllAsync(option, cancellationToken);

        while (true)
        {
            await ReceiveExactlyAsync(_header.AsMemory(0, 20), cancellationToken);
            if (BinaryPrimitives.ReadUInt64BigEndian(_header) != OptionReplyMagic)
            {
                throw new InvalidDataException("bad NBD option reply magic");
            }

            var type = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(12));
            var data = new byte[BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(16))];
            await ReceiveExactlyAsync(data, cancellationToken);
            if (type == RepAck)
            {
                return;
            }

            if (type == RepInfo && data.Length >= 12 && BinaryPrimitives.ReadUInt16BigEndian(data) == 0)
            {
                Size = (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(2));
            }
            else if ((type & 0x80000000) != 0)
            {
                throw new InvalidDataException($"NBD_OPT_GO for {export} refused: error 0x{type:x8} {Encoding.UTF8.GetString(data)}");
            }
        }
    }

    private async Task SendRequestAsync(ushort type, long offset, int length, CancellationToken cancellationToken)
    {
        var request = _header.AsMemory(0, 28);
        BinaryPrimitives.WriteUInt32BigEndian(request.Span, RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(request.Span[4..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(request.Span[6..], type);
        BinaryPrimitives.WriteUInt64BigEndian(request.Span[8..], ++_handle);
        BinaryPrimitives.WriteUInt64BigEndian(request.Span[16..], (ulong)offset);
        BinaryPrimitives.WriteUInt32BigEndian(request.Span[24..], (uint)length);
        await SendAllAsync(request, cancellationToken);
    }

    private async Task ReadReplyAsync(CancellationToken cancellationToken)
    {
        await ReceiveExactlyAsync(_header.AsMemory(0, 16), cancellationToken);
        if (BinaryPrimitives.ReadUInt32BigEndian(_header) != SimpleReplyMagic)
        {
            throw new InvalidDataException("not an NBD simple reply");
        }

        var error = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(4));
        if (BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(8)) != _handle)
        {
            throw new InvalidDataException("an NBD reply for another request");
        }

        if (error != 0)
        {
            throw new IOException($"NBD error {error}");
        }
    }

    private async Task SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (data.Length > 0)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    private async Task ReceiveExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException("the NBD server closed the connection");
            }

            buffer = buffer[read..];
        }
    }
}
