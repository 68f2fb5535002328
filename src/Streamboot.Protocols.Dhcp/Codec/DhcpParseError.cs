namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>Why <see cref="DhcpPacket.TryParse"/> refused a datagram.</summary>
public enum DhcpParseError
{
    None = 0,

    /// <summary>Shorter than the fixed header and the magic cookie (240 bytes).</summary>
    Truncated,

    /// <summary>Not 99.130.83.99 after the file field: plain BOOTP or not DHCP at all.</summary>
    BadMagicCookie,

    /// <summary>op is neither BOOTREQUEST nor BOOTREPLY.</summary>
    BadOpCode,

    /// <summary>hlen above 16, the size of chaddr.</summary>
    BadHardwareAddressLength,

    /// <summary>An option code at the very end of its field, with no length byte.</summary>
    OptionTruncated,

    /// <summary>An option's length runs past the end of the field it is in.</summary>
    OptionOverrun,

    /// <summary>Option 52 is not one byte of 1, 2 or 3.</summary>
    BadOptionOverload,

    /// <summary>No option 53: a BOOTP packet, which this server does not answer.</summary>
    MissingMessageType,

    /// <summary>Option 53 is not exactly one byte.</summary>
    BadMessageType,

    /// <summary>Option 53 holds a type outside DISCOVER..INFORM (RFC 2132 §9.6).</summary>
    UnknownMessageType,
}
