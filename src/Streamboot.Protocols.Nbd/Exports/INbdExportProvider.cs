namespace Streamboot.Protocols.Nbd.Exports;

/// <summary>
/// What an export name means, decided by the layer that hosts the protocol
/// (the server: database, sessions, write caches). The protocol only asks
/// these two questions, in the spirit of pixiecore's Booter.
/// </summary>
/// <remarks>Both methods may be called concurrently from many connections.</remarks>
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
}
