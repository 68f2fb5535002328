namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>How a session with an export ended.</summary>
public enum NbdSessionEndReason
{
    /// <summary>The client sent NBD_CMD_DISC.</summary>
    Disconnected,

    /// <summary>The connection closed or broke without NBD_CMD_DISC (client crashed, network gone).</summary>
    ConnectionLost,

    /// <summary>The client broke the protocol and the server hung up.</summary>
    ProtocolError,

    /// <summary>The server stopped.</summary>
    ServerStopped,

    /// <summary>The export was only opened to answer NBD_OPT_INFO, or the handshake did not finish.</summary>
    NotStarted,

    /// <summary>Nothing was in flight and no request came for NbdServerOptions.IdleTimeout: the server closed the connection.</summary>
    IdleTimeout,

    /// <summary>Requests were in flight and none finished for NbdServerOptions.StallTimeout (the client did not take its replies): the server closed the connection.</summary>
    Stalled,
}
