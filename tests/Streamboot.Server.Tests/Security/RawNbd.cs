using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streamboot.Server.Tests.Security;

/// <summary>
/// The fixed-newstyle NBD handshake by hand, from any source address (libnbd
/// cannot choose one): NBD_OPT_GO for a name, and the server's first reply
/// type. Enough to see whether an attacker's open is refused.
/// </summary>
internal static class RawNbd
{
    public const uint RepAck = 1;
    public const uint RepInfo = 3;
    public const uint RepErrPolicy = 0x80000002;
    public const uint RepErrUnknown = 0x80000006;

    /// <summary>The first reply type to NBD_OPT_GO; the socket stays open (transmission, when it was accepted) until disposed.</summary>
    public static async Task<(uint Reply, Socket Socket)> GoAsync(IPAddress source, int port, string name)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var hello = new byte[18];
        await ReadAsync(socket, hello);
        await socket.SendAsync(new byte[] { 0, 0, 0, 3 }); // fixed newstyle, no zeroes
        var bytes = Encoding.UTF8.GetBytes(name);
        var option = new byte[16 + 4 + bytes.Length + 2];
        BinaryPrimitives.WriteUInt64BigEndian(option, 0x49484156454F5054); // IHAVEOPT
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(8), 7);         // NBD_OPT_GO
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(12), (uint)(4 + bytes.Length + 2));
        BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(16), (uint)bytes.Length);
        bytes.CopyTo(option, 20);
        await socket.SendAsync(option);
        var reply = new byte[20];
        await ReadAsync(socket, reply);
        return (BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(12)), socket);
    }

    private static async Task ReadAsync(Socket socket, byte[] buffer)
    {
        for (var done = 0; done < buffer.Length;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(done));
            if (n == 0)
            {
                throw new EndOfStreamException("the server closed the connection");
            }

            done += n;
        }
    }
}
