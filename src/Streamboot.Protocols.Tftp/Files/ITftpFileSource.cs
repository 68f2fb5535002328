namespace Streamboot.Protocols.Tftp.Files;

/// <summary>
/// What a file name means. The server asks once per read request; the answer
/// is a file to read or a refusal that becomes the ERROR packet. The host can
/// chain sources (generated files first, then folders). Called from many
/// transfers at once.
/// </summary>
public interface ITftpFileSource
{
    ValueTask<TftpOpenResult> OpenAsync(string fileName, TftpClientInfo client, CancellationToken cancellationToken);

    /// <summary>
    /// How a requested name appears in log lines: the client's text made
    /// safe (<see cref="ClientText.ForLog(string?, int)"/>), and a source whose
    /// names carry secrets (a boot's key) leaves them out.
    /// </summary>
    string NameForLog(string fileName) => ClientText.ForLog(fileName);
}
