namespace Streamboot.Protocols.Tftp.Files;

/// <summary>Why a file was not opened; each maps to one ERROR code.</summary>
public enum TftpOpenError
{
    None,

    /// <summary>ERROR 1, file not found.</summary>
    NotFound,

    /// <summary>ERROR 2, access violation: the name leaves the served folders or is not allowed.</summary>
    AccessViolation,
}
