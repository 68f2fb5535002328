namespace Streamboot.Protocols.Tftp;

/// <summary>The live counters behind <see cref="TftpServerStatistics"/>; updated with Interlocked from every transfer.</summary>
internal sealed class TftpCounters
{
#pragma warning disable SA1401, CA1051 // fields, so that Interlocked can take them by reference
    public long ActiveTransfers;
    public long TransfersStarted;
    public long TransfersCompleted;
    public long TransfersAbandoned;
    public long TransfersCancelledByClient;
    public long TransfersFailed;
    public long RequestsRefused;
    public long RequestsDropped;
    public long RequestsDroppedPerClient;
    public long MalformedPackets;
    public long BytesSent;
    public long PacketsSent;
    public long Retransmissions;
    public long ErrorsSent;
#pragma warning restore SA1401, CA1051

    public TftpServerStatistics Snapshot() => new()
    {
        ActiveTransfers = Volatile.Read(ref ActiveTransfers),
        TransfersStarted = Volatile.Read(ref TransfersStarted),
        TransfersCompleted = Volatile.Read(ref TransfersCompleted),
        TransfersAbandoned = Volatile.Read(ref TransfersAbandoned),
        TransfersCancelledByClient = Volatile.Read(ref TransfersCancelledByClient),
        TransfersFailed = Volatile.Read(ref TransfersFailed),
        RequestsRefused = Volatile.Read(ref RequestsRefused),
        RequestsDropped = Volatile.Read(ref RequestsDropped),
        RequestsDroppedPerClient = Volatile.Read(ref RequestsDroppedPerClient),
        MalformedPackets = Volatile.Read(ref MalformedPackets),
        BytesSent = Volatile.Read(ref BytesSent),
        PacketsSent = Volatile.Read(ref PacketsSent),
        Retransmissions = Volatile.Read(ref Retransmissions),
        ErrorsSent = Volatile.Read(ref ErrorsSent),
    };
}
