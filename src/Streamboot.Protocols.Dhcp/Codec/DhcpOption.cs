namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>One option with its whole value: the pieces of a long option are already joined (RFC 3396).</summary>
public readonly record struct DhcpOption(DhcpOptionCode Code, byte[] Value);
