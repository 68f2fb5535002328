namespace Streamboot.Protocols.Tftp.Files;

/// <summary>A file to send, or why not. <see cref="Reason"/> is for the log and the ERROR message.</summary>
public readonly record struct TftpOpenResult
{
    private TftpOpenResult(TftpFile? file, TftpOpenError error, string? reason)
    {
        File = file;
        Error = error;
        Reason = reason;
    }

    public TftpFile? File { get; }

    public TftpOpenError Error { get; }

    public string? Reason { get; }

    public static TftpOpenResult Opened(TftpFile file) => new(file ?? throw new ArgumentNullException(nameof(file)), TftpOpenError.None, null);

    public static TftpOpenResult NotFound(string reason) => new(null, TftpOpenError.NotFound, reason);

    public static TftpOpenResult AccessViolation(string reason) => new(null, TftpOpenError.AccessViolation, reason);
}
