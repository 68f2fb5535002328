namespace Streamboot.Protocols.Tftp;

/// <summary>A snapshot of a <see cref="TftpServer"/>'s counters since it was made, for the server's status page.</summary>
public sealed record TftpServerStatistics
{
    /// <summary>Transfers running now.</summary>
    public long ActiveTransfers { get; init; }

    /// <summary>Read requests that got a transfer (the file may still have been refused).</summary>
    public long TransfersStarted { get; init; }

    /// <summary>Transfers whose last block was acknowledged.</summary>
    public long TransfersCompleted { get; init; }

    /// <summary>Transfers given up after the client stopped answering.</summary>
    public long TransfersAbandoned { get; init; }

    /// <summary>Transfers the client ended with an ERROR (ERROR 8 after an OACK among them).</summary>
    public long TransfersCancelledByClient { get; init; }

    /// <summary>Transfers that failed on the server's side (a file read, a socket) or were cut by StopAsync.</summary>
    public long TransfersFailed { get; init; }

    /// <summary>Requests answered with ERROR 1 or 2 (missing file, access violation, write request).</summary>
    public long RequestsRefused { get; init; }

    /// <summary>Requests dropped because <see cref="TftpServerOptions.MaxTransfers"/> transfers, or <see cref="TftpServerOptions.MaxTransfersPerClient"/> from the same address, were running.</summary>
    public long RequestsDropped { get; init; }

    /// <summary>Of <see cref="RequestsDropped"/>, those dropped at <see cref="TftpServerOptions.MaxTransfersPerClient"/>.</summary>
    public long RequestsDroppedPerClient { get; init; }

    /// <summary>Datagrams that were not valid TFTP where they arrived (bad opcode, no NUL, wrong TID, ...).</summary>
    public long MalformedPackets { get; init; }

    /// <summary>File bytes sent in DATA packets, retransmissions included.</summary>
    public long BytesSent { get; init; }

    /// <summary>DATA packets sent, retransmissions included.</summary>
    public long PacketsSent { get; init; }

    /// <summary>Windows (or OACKs) sent again after a timeout.</summary>
    public long Retransmissions { get; init; }

    /// <summary>ERROR packets the server sent.</summary>
    public long ErrorsSent { get; init; }
}
