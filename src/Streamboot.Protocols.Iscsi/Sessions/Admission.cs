namespace Streamboot.Protocols.Iscsi.Sessions;

/// <summary>How <see cref="IscsiSession.Admit"/> took a PDU that carries a CmdSN.</summary>
internal enum Admission
{
    /// <summary>In order: delivered now (with any queued PDUs it unblocked).</summary>
    Delivered,

    /// <summary>Ahead of ExpCmdSN but inside the window: held until the gap fills (another connection's command).</summary>
    Queued,

    /// <summary>Outside the window, or a CmdSN already taken: silently ignored (RFC 7143 4.2.2.1).</summary>
    Ignored,

    /// <summary>An immediate command beyond what the session may have in flight: rejected.</summary>
    TooManyImmediate,
}
