namespace Streamboot.Protocols.Dhcp.Codec;

/// <summary>The op field (RFC 2131 §2).</summary>
public enum DhcpOpCode : byte
{
    BootRequest = 1,
    BootReply = 2,
}
