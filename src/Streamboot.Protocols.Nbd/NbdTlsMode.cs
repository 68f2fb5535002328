namespace Streamboot.Protocols.Nbd;

/// <summary>The server's TLS mode, doc/proto.md "Server-side requirements".</summary>
public enum NbdTlsMode
{
    /// <summary>NOTLS: NBD_OPT_STARTTLS is refused with NBD_REP_ERR_POLICY.</summary>
    Off,

    /// <summary>SELECTIVETLS with no TLS-only export: a client may upgrade, or not.</summary>
    Offered,

    /// <summary>FORCEDTLS: nothing but NBD_OPT_STARTTLS and NBD_OPT_ABORT is answered before TLS.</summary>
    Required,
}
