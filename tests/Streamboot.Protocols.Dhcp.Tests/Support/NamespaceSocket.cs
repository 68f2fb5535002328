using System.ComponentModel;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Streamboot.Protocols.Dhcp.Tests.Support;

/// <summary>
/// A UDP socket that lives in a test's network namespace: a fresh thread
/// enters the namespace (setns), creates the socket and ends; the socket stays
/// in the namespace it was made in, and the test uses it from any thread.
/// This is how raw DHCP packets (crafted PXE ROM requests, garbage) reach the
/// server from the client side of the veth pair.
/// </summary>
public static class NamespaceSocket
{
    private const int CloneNewNet = 0x40000000;

    public static Socket OpenUdp(string networkNamespace, string interfaceName, int port)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{networkNamespace}");
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns into {networkNamespace}");
                }

                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException($"cannot open a socket in namespace {networkNamespace}", failure);
        }

        try
        {
            socket!.SetRawSocketOption(1, 2, BitConverter.GetBytes(1)); // SO_REUSEADDR
            socket.SetRawSocketOption(1, 25, Encoding.ASCII.GetBytes(interfaceName + "\0")); // SO_BINDTODEVICE
            socket.EnableBroadcast = true;
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return socket;
        }
        catch
        {
            socket!.Dispose();
            throw;
        }
    }

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);
}
