namespace Streamboot.Protocols.Tftp;

/// <summary>Transfer modes of RFC 1350 that a read-only server serves ("mail" is obsolete and refused).</summary>
public enum TftpMode
{
    /// <summary>Raw 8-bit bytes: what every boot loader asks for.</summary>
    Octet,

    /// <summary>
    /// NVT ASCII (RFC 764): the server turns LF into CR LF and a bare CR into
    /// CR NUL on the fly, so the size on the wire is not known in advance.
    /// </summary>
    NetAscii,
}
