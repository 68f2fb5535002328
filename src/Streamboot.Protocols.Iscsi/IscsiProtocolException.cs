namespace Streamboot.Protocols.Iscsi;

/// <summary>The initiator broke the protocol in a way that ends its connection (RFC 7143 7.x: at ErrorRecoveryLevel 0, connection failure).</summary>
public sealed class IscsiProtocolException(string message) : Exception(message);
