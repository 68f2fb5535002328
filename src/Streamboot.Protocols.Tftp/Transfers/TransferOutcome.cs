namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>How a transfer that got as far as sending ended.</summary>
internal enum TransferOutcome
{
    /// <summary>The last block was acknowledged.</summary>
    Completed,

    /// <summary>The client stopped answering; the retransmissions ran out.</summary>
    Abandoned,

    /// <summary>The client sent ERROR (ERROR 8 after the OACK included).</summary>
    ClientError,
}
