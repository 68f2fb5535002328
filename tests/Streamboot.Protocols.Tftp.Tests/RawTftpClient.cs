using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streamboot.Protocols.Tftp.Tests;

/// <summary>A tiny UDP TFTP client that sends whatever a test wants, well formed or not.</summary>
public sealed class RawTftpClient : IDisposable
{
    private readonly IPEndPoint _server;

    /// <summary>A client on 127.0.0.1, or on <paramref name="local"/>: loopback holds all of 127.0.0.0/8, so tests can play many machines.</summary>
    public RawTftpClient(IPEndPoint server, IPAddress? local = null)
    {
        _server = server;
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Socket.Bind(new IPEndPoint(local ?? IPAddress.Loopback, 0));
    }

    /// <summary>The i-th of many loopback addresses other than 127.0.0.1 (127.0.1.1, 127.0.1.2, ...): one per simulated machine.</summary>
    public static IPAddress Machine(int i) => new([127, 0, (byte)(1 + (i / 250)), (byte)(1 + (i % 250))]);

    public Socket Socket { get; }

    public static byte[] Request(TftpOpcode opcode, string name, string mode, params (string Name, string Value)[] options)
    {
        var bytes = new List<byte> { 0, (byte)opcode };
        bytes.AddRange(Encoding.UTF8.GetBytes(name));
        bytes.Add(0);
        bytes.AddRange(Encoding.ASCII.GetBytes(mode));
        bytes.Add(0);
        foreach (var (n, v) in options)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes(n));
            bytes.Add(0);
            bytes.AddRange(Encoding.ASCII.GetBytes(v));
            bytes.Add(0);
        }

        return [.. bytes];
    }

    public static byte[] Ack(long block) => [0, (byte)TftpOpcode.Acknowledgment, (byte)(block >> 8), (byte)block];

    public static byte[] Error(TftpErrorCode code, string message) =>
        [0, (byte)TftpOpcode.Error, 0, (byte)code, .. Encoding.ASCII.GetBytes(message), 0];

    public void Send(byte[] datagram, IPEndPoint? to = null) => Socket.SendTo(datagram, to ?? _server);

    public void Read(string name, string mode = "octet", params (string Name, string Value)[] options) =>
        Send(Request(TftpOpcode.ReadRequest, name, mode, options));

    /// <summary>The next datagram, or null when none comes within <paramref name="timeout"/>.</summary>
    public async Task<TftpPacket?> ReceiveAsync(TimeSpan? timeout = null)
    {
        var buffer = new byte[70000];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            var result = await Socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            return new TftpPacket(buffer[..result.ReceivedBytes], (IPEndPoint)result.RemoteEndPoint);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async Task<TftpPacket> ExpectAsync(TimeSpan? timeout = null) =>
        await ReceiveAsync(timeout) ?? throw new Xunit.Sdk.XunitException("no answer from the server");

    /// <summary>
    /// Reads a whole file the well-behaved way (ACK every block, ACK 0 after an
    /// OACK, windows of <paramref name="windowSize"/>), returning the bytes and the OACK's options.
    /// </summary>
    public async Task<(byte[] Content, Dictionary<string, string>? Oack)> GetAsync(string name, string mode = "octet", int windowSize = 1, params (string Name, string Value)[] options)
    {
        // Like a PXE ROM, ask again when the first answer does not come (a
        // request can be dropped when hundreds arrive at once).
        Read(name, mode, options);
        var first = await ReceiveAsync(TimeSpan.FromSeconds(2));
        for (var retry = 0; first is null && retry < 3; retry++)
        {
            Read(name, mode, options);
            first = await ReceiveAsync(TimeSpan.FromSeconds(2));
        }

        var content = new MemoryStream();
        Dictionary<string, string>? oack = null;
        var blockSize = 512;
        long expected = 1;
        var inWindow = 0;
        while (true)
        {
            var packet = first ?? await ExpectAsync();
            first = null;
            switch (packet.Opcode)
            {
                case TftpOpcode.OptionAcknowledgment when expected > 1:
                    // A retransmitted OACK that crossed our ACK 0: already answered.
                    break;
                case TftpOpcode.OptionAcknowledgment:
                    oack = packet.Options;
                    if (oack.TryGetValue("blksize", out var size))
                    {
                        blockSize = int.Parse(size, System.Globalization.CultureInfo.InvariantCulture);
                    }

                    Send(Ack(0), packet.From);
                    break;
                case TftpOpcode.Data when (ushort)((ushort)expected - packet.Block) is var behind && behind >= 1 && behind <= windowSize:
                    // A retransmission that crossed our ACK on a loaded machine: the
                    // data is already ours; like tftp-hpa, take no notice of it.
                    break;
                case TftpOpcode.Data:
                    Assert.Equal((ushort)expected, packet.Block);
                    content.Write(packet.Payload);
                    expected++;
                    var last = packet.Payload.Length < blockSize;
                    if (++inWindow == windowSize || last)
                    {
                        Send(Ack(expected - 1), packet.From);
                        inWindow = 0;
                    }

                    if (last)
                    {
                        return (content.ToArray(), oack);
                    }

                    break;
                default:
                    throw new Xunit.Sdk.XunitException($"unexpected {packet}");
            }
        }
    }

    public void Dispose() => Socket.Dispose();
}

/// <summary>A datagram the server sent, read the TFTP way.</summary>
public sealed record TftpPacket(byte[] Bytes, IPEndPoint From)
{
    public TftpOpcode Opcode => (TftpOpcode)BinaryPrimitives.ReadUInt16BigEndian(Bytes);

    public ushort Block => BinaryPrimitives.ReadUInt16BigEndian(Bytes.AsSpan(2));

    public TftpErrorCode ErrorCode => (TftpErrorCode)Block;

    public byte[] Payload => Bytes[4..];

    public Dictionary<string, string> Options
    {
        get
        {
            var parts = Encoding.ASCII.GetString(Bytes, 2, Bytes.Length - 2).Split('\0');
            var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i + 1 < parts.Length; i += 2)
            {
                options[parts[i]] = parts[i + 1];
            }

            return options;
        }
    }

    public override string ToString() => Opcode switch
    {
        TftpOpcode.Data => $"DATA {Block} ({Payload.Length} bytes) from {From}",
        TftpOpcode.Error => $"ERROR {ErrorCode} '{Encoding.ASCII.GetString(Payload).TrimEnd('\0')}' from {From}",
        TftpOpcode.OptionAcknowledgment => $"OACK {string.Join(' ', Options.Select(o => $"{o.Key}={o.Value}"))} from {From}",
        _ => $"opcode {(ushort)Opcode} ({Bytes.Length} bytes) from {From}",
    };
}
