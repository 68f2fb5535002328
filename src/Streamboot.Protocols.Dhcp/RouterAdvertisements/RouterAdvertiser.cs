using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streamboot.Protocols.Dhcp.Transport;

namespace Streamboot.Protocols.Dhcp.RouterAdvertisements;

/// <summary>
/// Sends <see cref="RouterAdvertisement"/>s on one interface: every
/// <see cref="RouterAdvertiserOptions.Interval"/> and at once when a Router
/// Solicitation arrives, always multicast to ff02::1 with hop limit 255 (RFC
/// 4861 §6.2.6 allows that for solicited ones). A raw ICMPv6 socket needs
/// CAP_NET_RAW; the kernel checks and fills the ICMPv6 checksum and picks the
/// link-local source address.
/// </summary>
public sealed class RouterAdvertiser : IAsyncDisposable
{
    private const int IpprotoIpv6 = 41;
    private const int IpprotoIcmpv6 = 58;
    private const int Ipv6UnicastHops = 16;
    private const int Ipv6MulticastIf = 17;
    private const int Ipv6MulticastHops = 18;
    private const int Ipv6MulticastLoop = 19;
    private const int Ipv6JoinGroup = 20;
    private const int Icmp6Filter = 1;

    private static readonly IPAddress s_allNodes = IPAddress.Parse("ff02::1");
    private static readonly IPAddress s_allRouters = IPAddress.Parse("ff02::2");

    private readonly RouterAdvertiserOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _solicited = new(0);
    private Socket? _socket;
    private Task? _loops;
    private long _sent;
    private long _solicitations;

    public RouterAdvertiser(RouterAdvertiserOptions options, ILoggerFactory? loggerFactory = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Interval, TimeSpan.FromSeconds(1));
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Streamboot.Protocols.Dhcp.RouterAdvertisements");
    }

    /// <summary>Advertisements sent so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Router Solicitations received so far.</summary>
    public long SolicitationsReceived => Interlocked.Read(ref _solicitations);

    public void Start()
    {
        if (_socket is not null)
        {
            throw new InvalidOperationException("the advertiser is already running");
        }

        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == _options.InterfaceName)
            ?? throw new InvalidOperationException($"there is no network interface '{_options.InterfaceName}'");
        var index = nic.GetIPProperties().GetIPv6Properties().Index;
        var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.IcmpV6);
        try
        {
            LinuxSockets.BindToDevice(socket, _options.InterfaceName);
            // Bound now: .NET binds a socket implicitly only on its first successful
            // send, and receiving on an unbound one throws InvalidOperationException;
            // when the first advertisement fails (link-local still tentative) the
            // receive loop died with it and serve's stop rethrew that (exit 1).
            socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
            socket.SetRawSocketOption(IpprotoIpv6, Ipv6MulticastHops, BitConverter.GetBytes(255));
            socket.SetRawSocketOption(IpprotoIpv6, Ipv6UnicastHops, BitConverter.GetBytes(255));
            socket.SetRawSocketOption(IpprotoIpv6, Ipv6MulticastIf, BitConverter.GetBytes(index));
            socket.SetRawSocketOption(IpprotoIpv6, Ipv6MulticastLoop, BitConverter.GetBytes(0));
            socket.SetRawSocketOption(IpprotoIpv6, Ipv6JoinGroup, JoinRequest(s_allRouters, index));
            socket.SetRawSocketOption(IpprotoIcmpv6, Icmp6Filter, OnlySolicitations());
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        var packet = RouterAdvertisement.Build(nic.GetPhysicalAddress().GetAddressBytes());
        var destination = new IPEndPoint(new IPAddress(s_allNodes.GetAddressBytes(), index), 0);
        DhcpLog.AdvertiserStarted(_logger, _options.InterfaceName, _options.Interval);
        _loops = Task.WhenAll(
            SendLoopAsync(socket, packet, destination, _stopping.Token),
            ReceiveLoopAsync(socket, _stopping.Token));
    }

    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (_loops is not null)
        {
            await _loops.ConfigureAwait(false);
            DhcpLog.AdvertiserStopped(_logger, _options.InterfaceName, Sent);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _solicited.Dispose();
    }

    private async Task SendLoopAsync(Socket socket, byte[] packet, IPEndPoint destination, CancellationToken cancellationToken)
    {
        var why = "start";
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await socket.SendToAsync(packet, SocketFlags.None, destination, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _sent);
                DhcpLog.AdvertisementSent(_logger, _options.InterfaceName, why);
                await Task.Delay(_options.MinimumGap, cancellationToken).ConfigureAwait(false);
                // Solicitations that came during the gap are answered by one advertisement now.
                why = await _solicited.WaitAsync(_options.Interval - _options.MinimumGap, cancellationToken).ConfigureAwait(false) ? "solicited" : "periodic";
                while (_solicited.CurrentCount > 0 && _solicited.Wait(0))
                {
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // Typically the link-local address is still tentative (DAD) right after the link came up.
                DhcpLog.AdvertiserFailed(_logger, _options.InterfaceName, e);
                why = "retry";
                await DelayQuietly(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1500];
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.IPv6Any, 0), cancellationToken).ConfigureAwait(false);
                if (received.ReceivedBytes >= 8 && buffer[0] == RouterAdvertisement.RouterSolicitationType && buffer[1] == 0)
                {
                    Interlocked.Increment(ref _solicitations);
                    DhcpLog.SolicitationReceived(_logger, _options.InterfaceName, received.RemoteEndPoint);
                    _solicited.Release();
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                DhcpLog.AdvertiserFailed(_logger, _options.InterfaceName, e);
                await DelayQuietly(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task DelayQuietly(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>struct ipv6_mreq: the group, then the interface index.</summary>
    private static byte[] JoinRequest(IPAddress group, int index)
    {
        var request = new byte[20];
        group.GetAddressBytes().CopyTo(request, 0);
        BitConverter.GetBytes(index).CopyTo(request, 16);
        return request;
    }

    /// <summary>struct icmp6_filter: a set bit blocks that type; let only Router Solicitations through.</summary>
    private static byte[] OnlySolicitations()
    {
        var words = new uint[8];
        Array.Fill(words, uint.MaxValue);
        words[RouterAdvertisement.RouterSolicitationType >> 5] &= ~(1u << (RouterAdvertisement.RouterSolicitationType & 31));
        var filter = new byte[32];
        Buffer.BlockCopy(words, 0, filter, 0, 32);
        return filter;
    }
}
