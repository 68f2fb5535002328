namespace Streamboot.Protocols.Dhcp;

/// <summary>Why a datagram got no answer. Each drop is logged with its reason and counted.</summary>
public enum DhcpDropReason
{
    /// <summary>The codec refused it (the log names the <see cref="Codec.DhcpParseError"/>).</summary>
    Malformed,

    /// <summary>A BOOTREPLY sent to the server.</summary>
    NotBootRequest,

    /// <summary>htype/hlen are not Ethernet's 1/6, so there is no MAC to answer.</summary>
    NotEthernet,

    /// <summary>OFFER, ACK or NAK sent to the server.</summary>
    NotClientMessage,

    /// <summary>Proxy mode or port 4011: option 60 does not start with "PXEClient".</summary>
    NotPxeClient,

    /// <summary>A message this mode and port do not answer (proxy mode answers only DISCOVER on 67 and REQUEST on 4011).</summary>
    NotForThisPort,

    /// <summary>The boot policy said "no boot" where only a boot answer makes sense (proxy mode, port 4011).</summary>
    NoBoot,

    /// <summary>The client chose another server's offer (option 54 is not ours).</summary>
    OtherServerSelected,

    /// <summary>A REQUEST with neither option 50 nor ciaddr, so no address to confirm.</summary>
    NoRequestedAddress,

    /// <summary>No free address in the pool, or the client's reserved address is held by another.</summary>
    PoolExhausted,

    /// <summary>RELEASE or DECLINE of an address the client does not hold here.</summary>
    UnknownLease,

    /// <summary>The answer would exceed the client's maximum message size.</summary>
    ReplyTooLarge,

    /// <summary>The boot policy, reservations or lease store threw.</summary>
    HostFailed,

    /// <summary>Longer than <see cref="DhcpServerOptions.MaxDatagramSize"/>: dropped before it is parsed.</summary>
    TooLarge,
}
