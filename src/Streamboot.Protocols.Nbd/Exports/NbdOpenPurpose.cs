namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>Why the protocol opens an export.</summary>
public enum NbdOpenPurpose
{
    /// <summary>NBD_OPT_INFO: size and flags only; closed again right after the reply (no session).</summary>
    Info,

    /// <summary>NBD_OPT_GO or NBD_OPT_EXPORT_NAME: the client will read and write (a session).</summary>
    Transmission,
}
