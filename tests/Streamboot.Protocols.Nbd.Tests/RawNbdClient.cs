using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streamboot.Protocols.Nbd.Tests;

/// <summary>A hand-rolled client that can send what real clients never would.</summary>
public sealed class RawNbdClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private Stream _stream;

    private RawNbdClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>
    /// Connects from <paramref name="source"/> (any 127.x address: loopback is
    /// a /8, so tests can be several client addresses), with a small receive
    /// buffer when <paramref name="receiveBuffer"/> is given (a client that
    /// does not read fills up sooner).
    /// </summary>
    public static async Task<RawNbdClient> ConnectAsync(int port, IPAddress? source = null, int? receiveBuffer = null)
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
        return new RawNbdClient(socket);
    }

    /// <summary>NBD_OPT_STARTTLS acknowledged, then a TLS handshake trusting only <paramref name="ca"/> for 127.0.0.1.</summary>
    public async Task StartTlsAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 ca)
    {
        await SendOptionAsync(NbdOption.StartTls, []);
        Assert.Equal(NbdOptionReply.Ack, (await ReadOptionReplyAsync()).Reply);
        var tls = new System.Net.Security.SslStream(_stream, leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            CertificateChainPolicy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
            {
                TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { ca },
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            },
        });
        _stream = tls;
    }

    /// <summary>Reads the greeting and answers with <paramref name="clientFlags"/>.</summary>
    public async Task HandshakeAsync(uint clientFlags = 3)
    {
        var greeting = await ReadAsync(18);
        Assert.Equal(NbdProtocol.InitPasswd, BinaryPrimitives.ReadUInt64BigEndian(greeting));
        Assert.Equal(NbdProtocol.IHaveOpt, BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16BigEndian(greeting.AsSpan(16)));
        await WriteAsync(BigEndian(clientFlags));
    }

    public Task SendOptionAsync(NbdOption option, byte[] data, ulong magic = NbdProtocol.IHaveOpt) =>
        SendOptionHeaderAsync(option, (uint)data.Length, magic, data);

    public async Task SendOptionHeaderAsync(NbdOption option, uint length, ulong magic = NbdProtocol.IHaveOpt, byte[]? data = null)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, magic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), length);
        await WriteAsync([.. header, .. data ?? []]);
    }

    public async Task<(NbdOption Option, NbdOptionReply Reply, byte[] Data)> ReadOptionReplyAsync()
    {
        var header = await ReadAsync(20);
        Assert.Equal(NbdProtocol.OptionReplyMagic, BinaryPrimitives.ReadUInt64BigEndian(header));
        var data = await ReadAsync((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)));
        return ((NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)), (NbdOptionReply)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), data);
    }

    /// <summary>The final reply of an option, skipping NBD_REP_INFO/SERVER/META_CONTEXT before it.</summary>
    public async Task<NbdOptionReply> ReadFinalReplyAsync()
    {
        while (true)
        {
            var (_, reply, _) = await ReadOptionReplyAsync();
            if (reply is not (NbdOptionReply.Info or NbdOptionReply.Server or NbdOptionReply.MetaContext))
            {
                return reply;
            }
        }
    }

    public static byte[] InfoRequest(string name, params NbdInfo[] infos)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var data = new List<byte>();
        data.AddRange(BigEndian((uint)nameBytes.Length));
        data.AddRange(nameBytes);
        data.AddRange(BigEndian16((ushort)infos.Length));
        foreach (var info in infos)
        {
            data.AddRange(BigEndian16((ushort)info));
        }

        return [.. data];
    }

    /// <summary>Handshake, optionally structured replies and base:allocation, then GO.</summary>
    public static async Task<RawNbdClient> OpenAsync(int port, string export, bool structured = false, params NbdInfo[] infos) =>
        await OpenFromAsync(port, export, null, null, structured, infos);

    /// <summary><see cref="OpenAsync"/> from a chosen source address and receive buffer (see <see cref="ConnectAsync"/>).</summary>
    public static async Task<RawNbdClient> OpenFromAsync(int port, string export, IPAddress? source, int? receiveBuffer, bool structured = false, params NbdInfo[] infos)
    {
        var client = await ConnectAsync(port, source, receiveBuffer);
        await client.HandshakeAsync();
        if (structured)
        {
            await client.SendOptionAsync(NbdOption.StructuredReply, []);
            Assert.Equal(NbdOptionReply.Ack, await client.ReadFinalReplyAsync());
        }

        await client.SendOptionAsync(NbdOption.Go, InfoRequest(export, infos));
        Assert.Equal(NbdOptionReply.Ack, await client.ReadFinalReplyAsync());
        return client;
    }

    public async Task SendRequestAsync(NbdCommand command, ulong cookie, ulong offset, uint length, NbdCommandFlags flags = NbdCommandFlags.None, byte[]? payload = null, uint magic = NbdProtocol.RequestMagic)
    {
        var header = new byte[28];
        BinaryPrimitives.WriteUInt32BigEndian(header, magic);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)command);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), length);
        await WriteAsync([.. header, .. payload ?? []]);
    }

    /// <summary>A simple reply: (error, cookie); data of <paramref name="dataLength"/> bytes follows on success.</summary>
    public async Task<(NbdError Error, ulong Cookie, byte[] Data)> ReadSimpleReplyAsync(int dataLength = 0)
    {
        var header = await ReadAsync(16);
        Assert.Equal(NbdProtocol.SimpleReplyMagic, BinaryPrimitives.ReadUInt32BigEndian(header));
        var error = (NbdError)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        var data = error == NbdError.None ? await ReadAsync(dataLength) : [];
        return (error, BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)), data);
    }

    public async Task<(NbdReplyFlags Flags, NbdReplyType Type, ulong Cookie, byte[] Payload)> ReadChunkAsync()
    {
        var header = await ReadAsync(20);
        Assert.Equal(NbdProtocol.StructuredReplyMagic, BinaryPrimitives.ReadUInt32BigEndian(header));
        var payload = await ReadAsync((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)));
        return ((NbdReplyFlags)BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4)), (NbdReplyType)BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6)),
            BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)), payload);
    }

    public async Task WriteAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    public async Task<byte[]> ReadAsync(int count)
    {
        var buffer = new byte[count];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _stream.ReadExactlyAsync(buffer, timeout.Token);
        return buffer;
    }

    /// <summary>True when the server closed the connection (EOF) within the time limit.</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (true)
            {
                if (await _stream.ReadAsync(buffer, timeout.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (IOException)
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

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();

    public static byte[] BigEndian(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] BigEndian16(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return bytes;
    }
}
