using System.Net;
using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp.Answers;

internal sealed partial class DhcpResponder
{
    /// <summary>
    /// Proxy mode on port 67 (PXE 2.1 §2.2.3): a PXE client's DISCOVER gets an
    /// OFFER with no address (yiaddr 0), only boot information; the network's
    /// DHCP server gives the address. Everything else is the other server's.
    /// </summary>
    private async ValueTask<DhcpAnswer> AnswerProxyAsync(DhcpPacket request, DhcpMessageType type, DhcpClient client, CancellationToken cancellationToken)
    {
        if (type != DhcpMessageType.Discover)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NotForThisPort, $"proxy mode answers DISCOVER on this port, not {type}", client);
        }

        if (!client.IsPxe)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NotPxeClient, $"vendor class '{client.VendorClass}'", client);
        }

        var decision = await DecideAsync(client, cancellationToken).ConfigureAwait(false);
        if (!decision.Boots)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NoBoot, "the boot policy boots nothing", client);
        }

        var offer = WithBootInformation(NewReply(request, DhcpMessageType.Offer, IPAddress.Any), client, decision);
        return SendChecked(request, offer, DestinationOf(request, DhcpMessageType.Offer), client, decision.BootFile);
    }

    /// <summary>
    /// Port 4011, both modes: the PXE client's REQUEST (boot server discovery,
    /// or UEFI firmware's BINL-style request after an offer without option
    /// 43) gets an ACK with the boot file and no address, sent back to where
    /// the request came from. PXE_BOOT_ITEM (43.71) is echoed when present.
    /// </summary>
    private async ValueTask<DhcpAnswer> AnswerPxePortAsync(DhcpPacket request, DhcpMessageType type, DhcpClient client, IPEndPoint source, CancellationToken cancellationToken)
    {
        if (type is not (DhcpMessageType.Request or DhcpMessageType.Inform))
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NotForThisPort, $"port {DhcpProtocol.PxePort} answers REQUEST, not {type}", client);
        }

        if (!client.IsPxe)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NotPxeClient, $"vendor class '{client.VendorClass}'", client);
        }

        var decision = await DecideAsync(client, cancellationToken).ConfigureAwait(false);
        if (!decision.Boots)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NoBoot, "the boot policy boots nothing", client);
        }

        var ack = WithBootInformation(NewReply(request, DhcpMessageType.Ack, IPAddress.Any), client, decision);
        ack.Options.Remove(DhcpOptionCode.VendorSpecificInformation);
        var bootItem = request.Options.Get(DhcpOptionCode.VendorSpecificInformation) is { } vendor
            ? EncapsulatedOptions.Parse(vendor)?.FirstOrDefault(o => o.Code == (byte)PxeVendorOption.BootItem)
            : null;
        if (bootItem is { Value: { Length: 4 } item })
        {
            ack.Options.Set(DhcpOptionCode.VendorSpecificInformation, EncapsulatedOptions.Build(((byte)PxeVendorOption.BootItem, item)));
        }

        var destination = IPv4.IsUnspecified(source.Address) ? new IPEndPoint(s_limitedBroadcast, source.Port) : source;
        return SendChecked(request, ack, destination, client, decision.BootFile);
    }
}
