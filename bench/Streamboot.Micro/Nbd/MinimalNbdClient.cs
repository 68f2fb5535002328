using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Streamboot.Protocols.Nbd;

namespace Streamboot.Micro.Nbd;

/// <summary>
/// The least an NBD client can be: fixed-newstyle handshake with NBD_OPT_GO,
/// then simple requests and replies on a blocking socket with buffers of its
/// own, so whatever a request allocates is the server's.
/// </summary>
internal sealed class MinimalNbdClient : IDisposable
{
    private const uint ReplyAck = 1;
    private readonly Socket _socket;
    private readonly byte[] _request = new byte[28];
    private readonly byte[] _reply = new byte[16];

    private MinimalNbdClient(Socket socket) => _socket = socket;

    public static MinimalNbdClient Open(int port, string export)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        var client = new MinimalNbdClient(socket);
        client.Handshake(export);
        return client;
    }

    private void Handshake(string export)
    {
        var greeting = new byte[18];
        ReceiveExactly(greeting);
        if (BinaryPrimitives.ReadUInt64BigEndian(greeting) != NbdProtocol.InitPasswd)
        {
            throw new InvalidOperationException("not an NBD server");
        }

        var name = System.Text.Encoding.UTF8.GetBytes(export);
        var option = new byte[4 + 16 + 4 + name.Length + 2];
        BinaryPrimitives.WriteUInt32BigEndian(option, 3); // NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES
        BinaryPrimitives.WriteUInt64BigEndian(option.AsSpan(4), NbdProtocol.IHaveOpt);
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(12), (uint)NbdOption.Go);
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(16), (uint)(4 + name.Length + 2));
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(20), (uint)name.Length);
        name.CopyTo(option, 24);
        _socket.Send(option);

        var header = new byte[20];
        while (true)
        {
            ReceiveExactly(header);
            var type = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            var data = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16))];
            ReceiveExactly(data);
            if (type == ReplyAck)
            {
                return;
            }

            if ((type & 0x8000_0000) != 0)
            {
                throw new InvalidOperationException($"NBD_OPT_GO refused: {type:x}");
            }
        }
    }

    /// <summary>NBD_CMD_READ: the 28-byte request, then the simple reply's header and the data into <paramref name="data"/>.</summary>
    public void Read(ulong offset, Span<byte> data)
    {
        Send(NbdCommand.Read, offset, (uint)data.Length);
        ReceiveReply();
        ReceiveExactly(data);
    }

    /// <summary>NBD_CMD_WRITE: the request and <paramref name="data"/>, then the simple reply.</summary>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        Send(NbdCommand.Write, offset, (uint)data.Length);
        _socket.Send(data);
        ReceiveReply();
    }

    private void Send(NbdCommand command, ulong offset, uint length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_request, NbdProtocol.RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(_request.AsSpan(4), 0);
        BinaryPrimitives.WriteUInt16BigEndian(_request.AsSpan(6), (ushort)command);
        BinaryPrimitives.WriteUInt64BigEndian(_request.AsSpan(8), offset);
        BinaryPrimitives.WriteUInt64BigEndian(_request.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(_request.AsSpan(24), length);
        _socket.Send(_request);
    }

    private void ReceiveReply()
    {
        ReceiveExactly(_reply);
        if (BinaryPrimitives.ReadUInt32BigEndian(_reply) != NbdProtocol.SimpleReplyMagic || BinaryPrimitives.ReadUInt32BigEndian(_reply.AsSpan(4)) != 0)
        {
            throw new InvalidOperationException("not a successful simple reply");
        }
    }

    private void ReceiveExactly(Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = _socket.Receive(buffer);
            if (n == 0)
            {
                throw new EndOfStreamException("the server closed the connection");
            }

            buffer = buffer[n..];
        }
    }

    public void Dispose() => _socket.Dispose();
}
