using System.Net;
using System.Net.Sockets;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Network;

/// <summary>
/// The ports <c>serve</c> must have (HTTP and NBD, iSCSI and HTTPS unless they are off; TFTP when DHCP is on), tried before
/// anything starts, so that a port another program holds stops the start
/// with one line that names the port and its protocol, before this server
/// registers itself or touches a session. The listeners themselves bind
/// without SO_REUSEPORT, so a second server can never share a port even
/// if both start in the same instant.
/// </summary>
public static class ListenPorts
{
    /// <summary>Why a port cannot be had, or null when every one is free.</summary>
    public static string? Check(StreambootOptions options)
    {
        if (!StreambootServer.TryParseBind(options.Bind, out var address))
        {
            return null;
        }

        var ports = new List<(string Protocol, int Port, string Flag)> { ("HTTP", options.HttpPort, "--http-port"), ("NBD", options.NbdPort, "--nbd-port") };
        if (options.IscsiPort > 0)
        {
            ports.Add(("iSCSI", options.IscsiPort, "--iscsi-port"));
        }

        if (options.HttpsPort > 0)
        {
            ports.Add(("HTTPS", options.HttpsPort, "--https-port"));
        }

        foreach (var (protocol, port, flag) in ports)
        {
            if (TryBind(address, port) is { } error)
            {
                return Explain(protocol, options.Bind, port, flag, error);
            }
        }

        if (ports.GroupBy(p => p.Port).FirstOrDefault(g => g.Count() > 1) is { } shared)
        {
            return $"{string.Join(" and ", shared.Select(p => p.Protocol))} cannot share port {shared.Key}; give them different ports ({string.Join(", ", shared.Select(p => p.Flag))})";
        }

        // With DHCP on, its answers send PXE clients to this TFTP port: it must be ours.
        // (Without, TFTP only warns: the network's own boot server may have it.)
        return options.DhcpOn && options.TftpPort > 0 && TryBindUdp(address, options.TftpPort) is { } tftpError
            ? Explain("TFTP", options.Bind, options.TftpPort, "--tftp-port", tftpError)
            : null;
    }

    /// <summary>One line for a port that could not be bound, saying what is true.</summary>
    public static string Explain(string protocol, string bind, int port, string flag, SocketError error) => error switch
    {
        SocketError.AddressAlreadyInUse =>
            $"{protocol} port {port} on {bind} is in use by another program (another streamboot serve?; '{(protocol == "TFTP" ? "ss -lunp" : "ss -ltnp")} sport = :{port}' shows which); stop it or choose another port with {flag}",
        SocketError.AccessDenied =>
            $"{protocol} port {port} needs root or CAP_NET_BIND_SERVICE (ports below 1024); run as root, or choose a port above 1023 with {flag}",
        SocketError.AddressNotAvailable =>
            $"{bind} is not an address of this machine, so {protocol} cannot listen on it; use --bind 0.0.0.0 or one of this machine's addresses",
        _ => $"{protocol} cannot listen on {bind}:{port} ({error}); choose another port with {flag} or another address with --bind",
    };

    private static SocketError? TryBindUdp(IPAddress address, int port)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }

    private static SocketError? TryBind(IPAddress address, int port)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(1);
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
