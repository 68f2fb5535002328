using System.Net;

namespace Streamboot.Protocols.Nbd;

/// <summary>Who is on the other end, so a provider can decide (and a session record can say) which client it is.</summary>
public sealed record NbdConnectionInfo(long Id, EndPoint? RemoteEndPoint, EndPoint? LocalEndPoint)
{
    public override string ToString() => $"#{Id} {RemoteEndPoint}";
}
