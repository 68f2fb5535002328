using System.Net;
using System.Net.Sockets;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>A DHCP client made of a socket in the test's namespace: sends any bytes, collects the replies.</summary>
public sealed class RawDhcpClient : IDisposable
{
    private readonly Socket _socket;

    private RawDhcpClient(Socket socket) => _socket = socket;

    public static RawDhcpClient Open(TestLink link, int port = DhcpProtocol.ClientPort) =>
        new(NamespaceSocket.OpenUdp(link.Namespace, link.ClientInterface, port));

    public Task SendAsync(byte[] datagram, IPEndPoint destination) =>
        _socket.SendToAsync(datagram, SocketFlags.None, destination);

    public Task BroadcastAsync(byte[] datagram, int port = DhcpProtocol.ServerPort) =>
        SendAsync(datagram, new IPEndPoint(IPAddress.Broadcast, port));

    public Task BroadcastAsync(DhcpPacket packet) => BroadcastAsync(packet.ToArray());

    /// <summary>The first reply with this xid within the time, or null.</summary>
    public async Task<(DhcpPacket Packet, IPEndPoint From)?> ReceiveAsync(uint transactionId, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[2048];
        while (true)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            if (DhcpPacket.TryParse(buffer.AsSpan(0, received.ReceivedBytes), out var packet, out _) && packet.TransactionId == transactionId)
            {
                return (packet, (IPEndPoint)received.RemoteEndPoint);
            }
        }
    }

    public async Task<DhcpPacket> ExchangeAsync(DhcpPacket request, IPEndPoint? destination = null)
    {
        await SendAsync(request.ToArray(), destination ?? new IPEndPoint(IPAddress.Broadcast, DhcpProtocol.ServerPort));
        var reply = await ReceiveAsync(request.TransactionId, TimeSpan.FromSeconds(5));
        Assert.True(reply is not null, $"no reply to {request.MessageType} xid {request.TransactionId:x8}");
        return reply.Value.Packet;
    }

    public void Dispose() => _socket.Dispose();
}
