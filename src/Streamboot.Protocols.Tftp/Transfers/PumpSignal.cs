namespace Streamboot.Protocols.Tftp.Transfers;

/// <summary>Why a wait on a <see cref="UdpChannel"/> ended.</summary>
internal enum PumpSignal
{
    /// <summary>The socket is readable (or writable, for a send wait).</summary>
    Ready,

    /// <summary>The deadline passed first.</summary>
    TimedOut,

    /// <summary>The server is stopping.</summary>
    Stopped,
}
