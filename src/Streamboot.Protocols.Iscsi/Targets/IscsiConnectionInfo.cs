using System.Net;

namespace Streamboot.Protocols.Iscsi.Targets;

/// <summary>One TCP connection: a number for logs, and both ends.</summary>
public sealed record IscsiConnectionInfo(long Id, EndPoint? RemoteEndPoint, EndPoint? LocalEndPoint)
{
    public override string ToString() => $"#{Id} {RemoteEndPoint}";
}
