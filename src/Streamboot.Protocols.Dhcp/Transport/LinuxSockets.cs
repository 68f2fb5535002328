using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streamboot.Protocols.Dhcp.Transport;

/// <summary>
/// Socket options .NET does not name. A DHCP server must hear broadcasts to
/// 255.255.255.255, which only a socket bound to 0.0.0.0 does, and must hear
/// (and answer) them on one interface only: SO_BINDTODEVICE does both, and lets
/// several servers share port 67 on different interfaces.
/// </summary>
internal static class LinuxSockets
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const int SoBindToDevice = 25;

    public static void BindToDevice(Socket socket, string interfaceName)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("binding a socket to an interface (SO_BINDTODEVICE) needs Linux");
        }

        var name = Encoding.ASCII.GetBytes(interfaceName + "\0");
        socket.SetRawSocketOption(SolSocket, SoBindToDevice, name);
    }

    /// <summary>
    /// SO_REUSEADDR alone: .NET's ReuseAddress also sets SO_REUSEPORT on Linux,
    /// which would let another process's socket share our unicast traffic.
    /// </summary>
    public static void ReuseAddress(Socket socket) => socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));

    /// <summary>A UDP socket on 0.0.0.0:<paramref name="port"/> that sees and sends only on <paramref name="interfaceName"/>, broadcast allowed.</summary>
    public static Socket OpenUdp(string interfaceName, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            ReuseAddress(socket);
            socket.EnableBroadcast = true;
            // A boot storm (a room powering on) sends hundreds of DISCOVERs at once;
            // the kernel caps this at net.core.rmem_max.
            socket.ReceiveBufferSize = 1 << 20;
            BindToDevice(socket, interfaceName);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
