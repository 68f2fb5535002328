namespace Streamboot.Protocols.Nbd;

/// <summary>The client broke the protocol in a way the spec answers by closing the connection.</summary>
internal sealed class NbdProtocolException(string message) : Exception(message);
