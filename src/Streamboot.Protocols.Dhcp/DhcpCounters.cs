using Streamboot.Protocols.Dhcp.Codec;

namespace Streamboot.Protocols.Dhcp;

/// <summary>What a <see cref="DhcpServer"/> has done since it started; safe to read at any time.</summary>
public sealed class DhcpCounters
{
    private readonly long[] _sent = new long[(int)DhcpMessageType.Inform + 1];
    private readonly long[] _receivedByType = new long[(int)DhcpMessageType.Inform + 1];
    private readonly long[] _dropped = new long[Enum.GetValues<DhcpDropReason>().Length];
    private long _received;
    private long _handled;
    private long _lostClaims;

    /// <summary>Datagrams read from the sockets.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>RELEASE and DECLINE handled (they get no answer by design).</summary>
    public long HandledWithoutReply => Interlocked.Read(ref _handled);

    /// <summary>Addresses this server meant to give that the lease store had already given another client (another server's, in a farm).</summary>
    public long LostClaims => Interlocked.Read(ref _lostClaims);

    public long Sent(DhcpMessageType type) => Interlocked.Read(ref _sent[(int)type]);

    /// <summary>Messages of <paramref name="type"/> that parsed (answered or not); the rest are counted in <see cref="Dropped"/> as malformed.</summary>
    public long ReceivedOfType(DhcpMessageType type) => (uint)type < _receivedByType.Length ? Interlocked.Read(ref _receivedByType[(int)type]) : 0;

    public long Dropped(DhcpDropReason reason) => Interlocked.Read(ref _dropped[(int)reason]);

    public long TotalDropped => _dropped.Sum(d => Interlocked.Read(ref d));

    public override string ToString() =>
        $"received {Received}, " +
        string.Join(", ", Enum.GetValues<DhcpMessageType>().Where(t => Sent(t) > 0).Select(t => $"{t} {Sent(t)}")) +
        $", dropped {TotalDropped}, claims lost to other servers {LostClaims}";

    internal void CountReceived() => Interlocked.Increment(ref _received);

    internal void CountSent(DhcpMessageType type) => Interlocked.Increment(ref _sent[(int)type]);

    internal void CountParsed(DhcpMessageType? type)
    {
        if (type is { } known && (uint)known < _receivedByType.Length)
        {
            Interlocked.Increment(ref _receivedByType[(int)known]);
        }
    }

    internal void CountDropped(DhcpDropReason reason) => Interlocked.Increment(ref _dropped[(int)reason]);

    internal void CountLostClaim() => Interlocked.Increment(ref _lostClaims);

    internal void CountHandled() => Interlocked.Increment(ref _handled);
}
