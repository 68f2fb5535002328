using Streamboot.Protocols.Iscsi.Targets;
using Streamboot.Server.Nbd;
using Streamboot.Sessions;
using Streamboot.Sessions.Views;
using Streamboot.Telemetry;

namespace Streamboot.Server.Iscsi;

/// <summary>
/// iSCSI's front end to the session layer (the shape of SiteNbdExports): a
/// target name is a view (<see cref="IscsiNames"/>), a device's target is
/// behind CHAP whose secret comes from its boot's key
/// (<see cref="IscsiChapSecrets"/>, proved through
/// <see cref="IBootSessions.ProveKeyAsync"/>), and opening a target opens
/// the view. Refusals map to the protocol here, in one place: unknown names
/// to "not found", policy to "authorization failure", the rest to
/// "service unavailable". A device's target answers CHAP whether the device
/// exists or not, so its name tells an outsider nothing.
/// </summary>
internal sealed class SiteIscsiTargets(IBootSessions sessions, string baseName) : IIscsiTargetProvider
{
    public async ValueTask<IReadOnlyList<string>> ListTargetsAsync(IscsiConnectionInfo connection, CancellationToken cancellationToken) =>
        [.. (await sessions.ListAsync(cancellationToken)).Select(v => IscsiNames.ForVDisk(baseName, v.Name))];

    public async ValueTask<IscsiTargetLookup> FindAsync(string targetName, IscsiConnectionInfo connection, CancellationToken cancellationToken)
    {
        if (!IscsiNames.TryParse(baseName, targetName, out var vdisk, out var device))
        {
            return Refused(IscsiTargetLookup.NotFound, SessionRefusal.BadName);
        }

        if (device is not null)
        {
            return IscsiTargetLookup.ChapRequired;
        }

        var described = await sessions.DescribeAsync(new ViewRequest(vdisk, "iscsi", connection.RemoteEndPoint?.ToString()), cancellationToken);
        return described.Ok ? IscsiTargetLookup.Anonymous : Refused(Lookup(described.Error), described.Error.Reason);
    }

    public async ValueTask<IscsiGrant?> ProveAsync(string targetName, IscsiChapProof proof, IscsiConnectionInfo connection, CancellationToken cancellationToken)
    {
        // CHAP_N is the device's name (the boot script's iPXE username).
        if (!IscsiNames.TryParse(baseName, targetName, out var vdisk, out var device) || device is null
            || !string.Equals(proof.Name, device, StringComparison.OrdinalIgnoreCase))
        {
            StreambootMetrics.Refused(StreambootMetrics.Iscsi, MetricLabel.Of(SessionRefusal.BadName));
            return null;
        }

        var proved = await sessions.ProveKeyAsync(vdisk, device, key => proof.Proves(IscsiChapSecrets.Initiator(key)), cancellationToken);
        return proved.Ok ? new IscsiGrant(proved.Value, IscsiChapSecrets.Target(proved.Value)) : null;
    }

    public async ValueTask<IscsiOpenResult> OpenAsync(string targetName, IscsiGrant? grant, IscsiConnectionInfo connection, CancellationToken cancellationToken)
    {
        if (!IscsiNames.TryParse(baseName, targetName, out var vdisk, out var device) || (device is not null && grant is null))
        {
            StreambootMetrics.Refused(StreambootMetrics.Iscsi, MetricLabel.Of(SessionRefusal.BadName));
            return IscsiOpenResult.Failed(IscsiOpenError.NotFound, "no such target");
        }

        var name = device is null ? vdisk : $"{vdisk}/{device}/{grant!.Identity}";
        var view = await sessions.OpenAsync(new ViewRequest(name, "iscsi", connection.RemoteEndPoint?.ToString()), cancellationToken);
        return view.Ok
            ? IscsiOpenResult.Opened(new LeasedBlockDevice(view.Value), view.Value.Facts.ReadOnly)
            : IscsiOpenResult.Failed(Error(view.Error), view.Error.Message);
    }

    /// <summary>
    /// A refusal decided here or by a look-up (DescribeAsync) that does not
    /// count its refusals: the protocol leaves what its provider refuses to
    /// the provider, and opens and CHAP proofs the session layer counts itself.
    /// </summary>
    private static IscsiTargetLookup Refused(IscsiTargetLookup lookup, SessionRefusal reason)
    {
        StreambootMetrics.Refused(StreambootMetrics.Iscsi, MetricLabel.Of(reason));
        return lookup;
    }

    private static IscsiTargetLookup Lookup(SessionError error) => error.Kind switch
    {
        SessionErrorKind.NotFound => IscsiTargetLookup.NotFound,
        _ => IscsiTargetLookup.Refused,
    };

    private static IscsiOpenError Error(SessionError error) => error.Kind switch
    {
        SessionErrorKind.NotFound => IscsiOpenError.NotFound,
        SessionErrorKind.Refused => IscsiOpenError.Refused,
        _ => IscsiOpenError.Unavailable,
    };
}
