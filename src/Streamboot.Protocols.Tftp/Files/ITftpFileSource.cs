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
}
