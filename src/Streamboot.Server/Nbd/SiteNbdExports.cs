using Streamboot.Admin;
using Streamboot.Protocols.Nbd;
using Streamboot.Protocols.Nbd.Exports;
using Streamboot.Server.Streaming;
using Streamboot.Storage.Formats;

namespace Streamboot.Server.Nbd;

/// <summary>
/// What NBD export names mean on this site: <c>VDISK</c> is a read-only view
/// of the newest production version, <c>VDISK/DEVICE</c> the device's own
/// session (its version, its write cache). Errors map to NBD replies here:
/// unknown names to NBD_REP_ERR_UNKNOWN, refusals (not assigned, disabled, a
/// second live identity) to NBD_REP_ERR_POLICY.
/// </summary>
internal sealed class SiteNbdExports(Func<StreamingSessions> sessions, SessionRegistry registry) : INbdExportProvider
{
    public async ValueTask<IReadOnlyList<NbdExportListing>> ListExportsAsync(NbdConnectionInfo connection, CancellationToken cancellationToken) =>
        [.. (await sessions().ListAsync(cancellationToken)).Select(v => new NbdExportListing(v.Name, v.Description))];

    public async ValueTask<NbdOpenResult> OpenAsync(string name, NbdOpenPurpose purpose, NbdConnectionInfo connection, CancellationToken cancellationToken)
    {
        if (purpose == NbdOpenPurpose.Info)
        {
            // NBD_OPT_INFO: size and flags of what GO would give, no session.
            var described = await sessions().DescribeAsync(name, cancellationToken);
            if (!described.Ok)
            {
                return Failed(described.Error);
            }

            return new NbdExport(name, new DescribedBlockDevice(ImageChain.Open(described.Value.TopFile, readOnly: true), described.Value.ReadOnly))
            {
                Description = described.Value.Description,
                ReadOnly = described.Value.ReadOnly,
                AllowMultiConn = true,
            };
        }

        var lease = await registry.AcquireAsync(name, "nbd", connection.RemoteEndPoint?.ToString(), cancellationToken);
        if (!lease.Ok)
        {
            return Failed(lease.Error);
        }

        var plan = lease.Value.Plan;
        return new NbdExport(name, new LeasedBlockDevice(lease.Value))
        {
            Description = plan.Device is null ? plan.Description : $"{plan.VDisk} version {plan.Version} for {plan.Device}",
            ReadOnly = plan.ReadOnly,
            // Every connection of a device shares one block device, and a
            // read-only view never changes: a flush on one covers all.
            AllowMultiConn = true,
        };
    }

    private static NbdOpenResult Failed(AdminError error) => NbdOpenResult.Failed(
        error.Kind switch
        {
            AdminErrorKind.NotFound => NbdOpenError.Unknown,
            AdminErrorKind.Failed => NbdOpenError.Unavailable,
            _ => NbdOpenError.Refused,
        },
        error.Message);
}
