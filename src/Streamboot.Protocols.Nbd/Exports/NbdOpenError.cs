namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>Why an export cannot be opened; each maps to one NBD_REP_ERR_xxx.</summary>
public enum NbdOpenError
{
    /// <summary>No such export: NBD_REP_ERR_UNKNOWN.</summary>
    Unknown,

    /// <summary>It exists but this client may not have it (policy, or a second live session): NBD_REP_ERR_POLICY.</summary>
    Refused,

    /// <summary>The server is going down: NBD_REP_ERR_SHUTDOWN.</summary>
    ShuttingDown,

    /// <summary>The export is there but cannot be served now (image damaged, storage away): NBD_REP_ERR_PLATFORM.</summary>
    Unavailable,
}
