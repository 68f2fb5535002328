using Streamboot.Protocols.Nbd;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Sessions;
using Streamboot.Sessions.Views;

namespace Streamboot.Server.Nbd;

/// <summary>
/// NBD's front end to the session layer: an export name is a view name
/// (<c>VDISK</c>, or <c>VDISK/DEVICE/KEY</c> for a device's own disk).
/// Refusals map to NBD replies here, in one place: unknown names to
/// NBD_REP_ERR_UNKNOWN, policy (no key, a wrong key, not assigned, disabled,
/// a second live identity) to NBD_REP_ERR_POLICY, storage failures to
/// NBD_REP_ERR_PLATFORM.
/// </summary>
internal sealed class SiteNbdExports(IBootSessions sessions) : INbdExportProvider
{
    /// <summary>A device view's name carries its boot's key: log lines show VDISK/DEVICE, never the key.</summary>
    public string NameForLog(string exportName) => ViewName.ForLog(exportName);

    public async ValueTask<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdConnectionInfo connection, CancellationToken cancellationToken) =>
        [.. (await sessions.ListAsync(cancellationToken)).Select(v => new NbdExportListing(v.Name, v.Description))];

    public async ValueTask<NbdOpenResult> OpenAsync(string name, NbdOpenPurpose purpose, NbdConnectionInfo connection, CancellationToken cancellationToken)
    {
        var request = new ViewRequest(name, "nbd", connection.RemoteEndPoint?.ToString());
        if (purpose == NbdOpenPurpose.Info)
        {
            // NBD_OPT_INFO: size and flags of what GO would give; nothing opens, no boot starts.
            var described = await sessions.DescribeAsync(request, cancellationToken);
            return described.Ok
                ? new NbdExport(name, new DescribedBlockDevice(described.Value.Size, described.Value.ReadOnly))
                {
                    Description = Describe(described.Value),
                    ReadOnly = described.Value.ReadOnly,
                    AllowMultiConn = true,
                }
                : Failed(described.Error);
        }

        var view = await sessions.OpenAsync(request, cancellationToken);
        if (!view.Ok)
        {
            return Failed(view.Error);
        }

        return new NbdExport(name, new LeasedBlockDevice(view.Value))
        {
            Description = Describe(view.Value.Facts),
            ReadOnly = view.Value.Facts.ReadOnly,
            // Every connection of a device shares one block device, and a
            // read-only view never changes: a flush on one covers all.
            AllowMultiConn = true,
            // Its session moved to another server: close even an idle connection, so the client follows.
            Withdrawn = view.Value.Moved,
        };
    }

    private static string? Describe(ViewFacts facts) =>
        facts.Device is null ? facts.Description : $"{facts.VDisk} version {facts.Version} for {facts.Device}";

    private static NbdOpenResult Failed(SessionError error) => NbdOpenResult.Failed(
        error.Kind switch
        {
            SessionErrorKind.NotFound => NbdOpenError.Unknown,
            SessionErrorKind.Unavailable => NbdOpenError.Unavailable,
            _ => NbdOpenError.Refused,
        },
        error.Message);
}
