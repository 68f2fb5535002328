namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>What waiting for an ACK came to.</summary>
internal enum AckResult
{
    /// <summary>An ACK moved the acknowledged block forward (a whole window or part of it).</summary>
    Advanced,

    /// <summary>Nothing new within the timeout.</summary>
    TimedOut,

    /// <summary>The client sent ERROR.</summary>
    ClientError,
}
