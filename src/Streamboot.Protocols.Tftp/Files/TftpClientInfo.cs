using System.Net;

namespace Streamboot.Protocols.Tftp.Files;

/// <summary>Who asks: the client's address and port, and the server address the request came in on.</summary>
public sealed record TftpClientInfo(IPEndPoint RemoteEndPoint, IPAddress LocalAddress, TftpMode Mode);
