namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>
/// What an export name means, decided by the layer that hosts the protocol
/// (the server: database, sessions, write caches). The protocol only asks
/// these questions, in the spirit of pixiecore's Booter.
/// </summary>
/// <remarks>All methods may be called concurrently from many connections.</remarks>
public interface INbdExportProvider
{
    /// <summary>The exports a client may see with NBD_OPT_LIST (may be empty to hide them).</summary>
    ValueTask<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdConnectionInfo connection, CancellationToken cancellationToken);

    /// <summary>
    /// Opens <paramref name="name"/> for NBD_OPT_GO / NBD_OPT_EXPORT_NAME
    /// (<see cref="NbdOpenPurpose.Transmission"/>) or only to describe it for
    /// NBD_OPT_INFO (<see cref="NbdOpenPurpose.Info"/>). The protocol disposes
    /// the returned <see cref="NbdExport"/> exactly once, whatever happens.
    /// </summary>
    ValueTask<NbdOpenResult> OpenAsync(string name, NbdOpenPurpose purpose, NbdConnectionInfo connection, CancellationToken cancellationToken);

    /// <summary>
    /// How <paramref name="exportName"/> (as the client sent it) appears in a
    /// log line. The protocol names exports in its logs only through this. The
    /// default cleans it (<see cref="NbdLogText.Sanitize"/>); a provider whose
    /// names carry a secret (a per-boot key) overrides it to leave the secret out.
    /// </summary>
    string NameForLog(string exportName) => NbdLogText.Sanitize(exportName);
}
