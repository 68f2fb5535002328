using System.Net;
using Streamboot.Protocols.Dhcp.Codec;
using Streamboot.Protocols.Dhcp.Leases;

namespace Streamboot.Protocols.Dhcp.Answers;

internal sealed partial class DhcpResponder
{
    private DhcpLeasePool Pool => pool ?? throw new InvalidOperationException("full mode needs an address pool");

    /// <summary>Full mode on port 67: every client gets an address (RFC 2131 §4.3); PXE clients get boot information with it.</summary>
    private async ValueTask<DhcpAnswer> AnswerFullAsync(DhcpPacket request, DhcpMessageType type, DhcpClient client, CancellationToken cancellationToken)
    {
        switch (type)
        {
            case DhcpMessageType.Discover:
            {
                var requested = request.Options.GetAddress(DhcpOptionCode.RequestedIpAddress);
                var result = await Pool.OfferAsync(client.Mac, requested, cancellationToken).ConfigureAwait(false);
                if (result.Outcome != DhcpPoolOutcome.Granted)
                {
                    return DhcpAnswer.Dropped(DhcpDropReason.PoolExhausted, result.Reason!, client);
                }

                return await AddressReplyAsync(request, DhcpMessageType.Offer, result.Lease!.Address, client, leased: true, cancellationToken).ConfigureAwait(false);
            }

            case DhcpMessageType.Request:
                return await AnswerRequestAsync(request, client, cancellationToken).ConfigureAwait(false);

            case DhcpMessageType.Decline:
            {
                if (NotOurs(request) is { } other)
                {
                    return DhcpAnswer.Dropped(DhcpDropReason.OtherServerSelected, $"DECLINE for server {other}", client);
                }

                var address = request.Options.GetAddress(DhcpOptionCode.RequestedIpAddress);
                var declined = address is null ? null : await Pool.DeclineAsync(client.Mac, address, cancellationToken).ConfigureAwait(false);
                return declined is null
                    ? DhcpAnswer.Dropped(DhcpDropReason.UnknownLease, $"DECLINE of {address?.ToString() ?? "no address"}, not this client's", client)
                    : DhcpAnswer.Handled($"declined {address}: out of the pool until {declined.Expires:u}", client);
            }

            case DhcpMessageType.Release:
            {
                if (NotOurs(request) is { } other)
                {
                    return DhcpAnswer.Dropped(DhcpDropReason.OtherServerSelected, $"RELEASE for server {other}", client);
                }

                var released = await Pool.ReleaseAsync(client.Mac, request.Ciaddr, cancellationToken).ConfigureAwait(false);
                return released is null
                    ? DhcpAnswer.Dropped(DhcpDropReason.UnknownLease, $"RELEASE of {request.Ciaddr}, not bound to this client", client)
                    : DhcpAnswer.Handled($"released {request.Ciaddr}", client);
            }

            default:
                // INFORM (RFC 2131 §4.3.5): configuration for an address the client already has; no lease.
                return await AddressReplyAsync(request, DhcpMessageType.Ack, IPAddress.Any, client, leased: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// DHCPREQUEST (RFC 2131 §4.3.2). SELECTING names a server (option 54) and
    /// the offered address (option 50); INIT-REBOOT has option 50 without 54;
    /// RENEWING and REBINDING have only ciaddr. All end in the pool's check.
    /// </summary>
    private async ValueTask<DhcpAnswer> AnswerRequestAsync(DhcpPacket request, DhcpClient client, CancellationToken cancellationToken)
    {
        if (NotOurs(request) is { } other)
        {
            await Pool.WithdrawOfferAsync(client.Mac, request.Options.GetAddress(DhcpOptionCode.RequestedIpAddress), cancellationToken).ConfigureAwait(false);
            return DhcpAnswer.Dropped(DhcpDropReason.OtherServerSelected, $"the client chose server {other}", client);
        }

        var address = request.Options.GetAddress(DhcpOptionCode.RequestedIpAddress)
            ?? (IPv4.IsUnspecified(request.Ciaddr) ? null : request.Ciaddr);
        if (address is null)
        {
            return DhcpAnswer.Dropped(DhcpDropReason.NoRequestedAddress, "REQUEST without option 50 or ciaddr", client);
        }

        var result = await Pool.RequestAsync(client.Mac, address, client.HostName, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == DhcpPoolOutcome.Granted)
        {
            return await AddressReplyAsync(request, DhcpMessageType.Ack, address, client, leased: true, cancellationToken).ConfigureAwait(false);
        }

        var nak = NewReply(request, DhcpMessageType.Nak, IPAddress.Any);
        nak.Options.Set(DhcpOptionCode.Message, result.Reason!);
        var destination = DestinationOf(request, DhcpMessageType.Nak);
        if (!IPv4.IsUnspecified(request.Giaddr))
        {
            // Through a relay, the broadcast bit tells it to broadcast the NAK (RFC 2131 §4.3.2).
            nak = new DhcpPacket
            {
                Op = nak.Op,
                TransactionId = nak.TransactionId,
                Flags = DhcpProtocol.BroadcastFlag,
                Giaddr = nak.Giaddr,
                Chaddr = nak.Chaddr,
                Options = nak.Options,
            };
        }

        return SendChecked(request, nak, destination, client, null);
    }

    /// <summary>OFFER, ACK and INFORM's ACK: the network configuration, the lease times when leased, boot information for PXE clients.</summary>
    private async ValueTask<DhcpAnswer> AddressReplyAsync(DhcpPacket request, DhcpMessageType type, IPAddress yiaddr, DhcpClient client, bool leased, CancellationToken cancellationToken)
    {
        var reply = NewReply(request, type, yiaddr);
        var config = Pool.Options;
        var options = reply.Options;
        if (leased)
        {
            var seconds = (uint)config.LeaseTime.TotalSeconds;
            options.SetUInt32(DhcpOptionCode.IpAddressLeaseTime, seconds);
            options.SetUInt32(DhcpOptionCode.RenewalTime, seconds / 2);
            options.SetUInt32(DhcpOptionCode.RebindingTime, (uint)(seconds * 7UL / 8));
        }

        options.Set(DhcpOptionCode.SubnetMask, config.SubnetMask);
        if (config.Router is { } router)
        {
            options.Set(DhcpOptionCode.Router, router);
        }

        if (config.DnsServers.Count > 0)
        {
            options.Set(DhcpOptionCode.DomainNameServer, config.DnsServers);
        }

        if (!string.IsNullOrEmpty(config.DomainName))
        {
            options.Set(DhcpOptionCode.DomainName, config.DomainName);
        }

        string? bootFile = null;
        if (client.IsPxe)
        {
            var decision = await DecideAsync(client, cancellationToken).ConfigureAwait(false);
            if (decision.Boots)
            {
                reply = WithBootInformation(reply, client, decision);
                bootFile = decision.BootFile;
            }
        }

        var destination = type == DhcpMessageType.Ack && !leased && IPv4.IsUnspecified(request.Ciaddr) && IPv4.IsUnspecified(request.Giaddr)
            ? new IPEndPoint(IPAddress.Broadcast, clientPort)
            : DestinationOf(request, type);
        return SendChecked(request, reply, destination, client, bootFile);
    }

    /// <summary>Option 54 when it names another server; null when it names us or is absent.</summary>
    private IPAddress? NotOurs(DhcpPacket request) =>
        request.Options.GetAddress(DhcpOptionCode.ServerIdentifier) is { } id && !id.Equals(serverAddress) ? id : null;
}
