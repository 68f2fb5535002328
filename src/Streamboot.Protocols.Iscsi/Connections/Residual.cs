namespace Streamboot.Protocols.Iscsi.Connections;

/// <summary>The residual flags and count of a response (RFC 7143 11.4.5): how far what moved fell short of, or overran, the initiator's buffer.</summary>
internal readonly record struct Residual(ResponseFlags Flags, uint Count);
