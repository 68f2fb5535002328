using System.Net;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Answers;

/// <summary>What the responder decided for one request: a reply and where it goes, or a drop and why, or neither (RELEASE, DECLINE).</summary>
internal sealed record DhcpAnswer
{
    public DhcpPacket? Reply { get; init; }

    public IPEndPoint? Destination { get; init; }

    public DhcpDropReason? Drop { get; init; }

    /// <summary>For the log: the drop's detail, or what a silent message did.</summary>
    public string? Detail { get; init; }

    public DhcpClient? Client { get; init; }

    public string? BootFile { get; init; }

    public static DhcpAnswer Send(DhcpPacket reply, IPEndPoint destination, DhcpClient client, string? bootFile) =>
        new() { Reply = reply, Destination = destination, Client = client, BootFile = bootFile };

    public static DhcpAnswer Dropped(DhcpDropReason reason, string detail, DhcpClient? client = null) =>
        new() { Drop = reason, Detail = detail, Client = client };

    public static DhcpAnswer Handled(string detail, DhcpClient client) => new() { Detail = detail, Client = client };
}
