using System.Net;
using Streamboot.Protocols.Dhcp.Boot;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Leases;

namespace Streamboot.Protocols.Dhcp.Answers;

/// <summary>
/// Turns one parsed request into an answer, in pixiecore's three steps:
/// filter (is this for us at all), interpret (<see cref="DhcpClient"/>),
/// answer (full mode, proxy mode, or port 4011). No sockets: the server
/// sends what this returns, which keeps every rule testable without a network.
/// </summary>
internal sealed partial class DhcpResponder(
    DhcpMode mode,
    IDhcpBootPolicy bootPolicy,
    DhcpLeasePool? pool,
    IPAddress serverAddress,
    int serverPort = DhcpProtocol.ServerPort,
    int clientPort = DhcpProtocol.ClientPort)
{
    private static readonly IPAddress s_limitedBroadcast = IPAddress.Broadcast;

    public DhcpMode Mode => mode;

    public IPAddress ServerAddress => serverAddress;

    /// <param name="request">A packet the codec accepted.</param>
    /// <param name="pxePort">True when it came in on port 4011.</param>
    /// <param name="source">Where it came from (4011 answers go back there).</param>
    /// <param name="cancellationToken">Ends waits on the host's policy and store.</param>
    public async ValueTask<DhcpAnswer> AnswerAsync(DhcpPacket request, bool pxePort, IPEndPoint source, CancellationToken cancellationToken)
    {
        // Filter.
        if (request.Op != DhcpOpCode.BootRequest)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NotBootRequest, "op is BOOTREPLY");
        }

        if (request.ClientMac is not { } mac)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NotEthernet, $"htype {request.HardwareType}, hlen {request.HardwareAddressLength}");
        }

        var type = request.MessageType!.Value;
        if (type is DhcpMessageType.Offer or DhcpMessageType.Ack or DhcpMessageType.Nak)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NotClientMessage, $"{type} is a server's message");
        }

        // Interpret.
        var client = DhcpClient.From(request, mac);

        // Answer.
        if (pxePort)
        {
            return await AnswerPxePortAsync(request, type, client, source, cancellationToken).ConfigureAwait(false);
        }

        return mode == DhcpMode.Proxy
            ? await AnswerProxyAsync(request, type, client, cancellationToken).ConfigureAwait(false)
            : await AnswerFullAsync(request, type, client, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<DhcpBootDecision> DecideAsync(DhcpClient client, CancellationToken cancellationToken) =>
        bootPolicy.DecideAsync(
            new DhcpBootRequest
            {
                Mac = client.Mac,
                Architecture = client.Architecture,
                MachineId = client.MachineId,
                VendorClass = client.VendorClass,
                UserClasses = client.UserClasses,
                IsIpxe = client.IsIpxe,
                Mode = mode,
                ServerAddress = serverAddress,
            },
            cancellationToken);

    /// <summary>A reply with the request's xid, chaddr, flags and giaddr, and our server identifier.</summary>
    private DhcpPacket NewReply(DhcpPacket request, DhcpMessageType type, IPAddress yiaddr, IPAddress? siaddr = null, string sname = "", string file = "")
    {
        var reply = new DhcpPacket
        {
            Op = DhcpOpCode.BootReply,
            HardwareType = request.HardwareType,
            HardwareAddressLength = request.HardwareAddressLength,
            TransactionId = request.TransactionId,
            Flags = request.Flags,
            Ciaddr = type == DhcpMessageType.Nak ? IPAddress.Any : request.Ciaddr,
            Yiaddr = yiaddr,
            Siaddr = siaddr ?? IPAddress.Any,
            Giaddr = request.Giaddr,
            Chaddr = request.Chaddr,
            Sname = sname,
            File = file,
        };
        reply.Options.Set(DhcpOptionCode.MessageType, (byte)type);
        reply.Options.Set(DhcpOptionCode.ServerIdentifier, serverAddress);
        return reply;
    }

    /// <summary>
    /// Where a reply on port 67 goes (RFC 2131 §4.1): to the relay when there
    /// is one; a NAK is broadcast; to ciaddr when the client has an address;
    /// else broadcast. The RFC lets a server unicast to yiaddr when the
    /// broadcast bit is clear, but that needs an ARP entry the kernel does not
    /// have yet; broadcasting is what most servers do and every client accepts.
    /// </summary>
    private IPEndPoint DestinationOf(DhcpPacket request, DhcpMessageType type)
    {
        if (!IPv4.IsUnspecified(request.Giaddr))
        {
            return new IPEndPoint(request.Giaddr, serverPort);
        }

        if (type != DhcpMessageType.Nak && !IPv4.IsUnspecified(request.Ciaddr))
        {
            return new IPEndPoint(request.Ciaddr, clientPort);
        }

        return new IPEndPoint(s_limitedBroadcast, clientPort);
    }

    /// <summary>The client's option 57, never below the 576 every client must take.</summary>
    private static int MaximumMessageSize(DhcpPacket request) =>
        Math.Clamp((int)(request.Options.GetUInt16(DhcpOptionCode.MaximumMessageSize) ?? 0), DhcpProtocol.DefaultMaximumMessageSize, DhcpProtocol.MaximumDatagramLength);

    private static DhcpAnswer SendChecked(DhcpPacket request, DhcpPacket reply, IPEndPoint destination, DhcpClient client, string? bootFile)
    {
        var max = MaximumMessageSize(request);
        return reply.Length > max
            ? DhcpAnswer.Dropped(DhcpDropReason.ReplyTooLarge, $"{reply.Length} bytes, the client takes {max}", client)
            : DhcpAnswer.Send(reply, destination, client, bootFile);
    }
}
