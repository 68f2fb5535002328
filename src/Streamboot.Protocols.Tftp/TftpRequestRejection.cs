namespace Streamboot.Protocols.Tftp;

/// <summary>Why a datagram on the request port is not a request the server can start.</summary>
public enum TftpRequestRejection
{
    None,

    /// <summary>Fewer than two bytes: not even an opcode. Dropped.</summary>
    Truncated,

    /// <summary>An opcode TFTP does not define (ERROR 4).</summary>
    UnknownOpcode,

    /// <summary>DATA, ACK or OACK on the request port, where no transfer lives (ERROR 5).</summary>
    NoTransfer,

    /// <summary>An ERROR packet on the request port; errors are never answered (RFC 1350 section 7). Dropped.</summary>
    ErrorPacket,

    /// <summary>The file name or the mode has no NUL terminator (ERROR 4).</summary>
    MissingTerminator,

    /// <summary>A mode other than octet or netascii (ERROR 4).</summary>
    UnknownMode,

    /// <summary>A file name that is not UTF-8 (ERROR 2).</summary>
    InvalidFileName,
}
